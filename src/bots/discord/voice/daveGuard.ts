/**
 * Keeps DAVE (end-to-end encrypted voice) receiving on @discordjs/voice 0.19.2, at our level:
 *
 * 1. Passthrough frames. Discord sends some frames without the DAVE layer while DAVE is on
 *    (around transitions; Pycord-Development/pycord#3201). The library leaves davey's passthrough
 *    off after a Welcome or commit, so each such frame is a decryption failure. Discord's own
 *    clients (libdave) accept unencrypted frames for a short while after each transition; we do
 *    the same: after every executed transition, passthrough for `passthroughS` seconds.
 * 2. Recovery when the last transition id is 0. After more than decryptionFailureTolerance
 *    consecutive failures DAVESession.decrypt recovers only `if (this.lastTransitionId)`, and 0 —
 *    the id the first Welcome often has — is falsy, so it throws instead; the receiver then destroys
 *    the speaker's stream and nothing recovers (discordjs/discord.js#11445, still open;
 *    openclaw/openclaw#81518). When a receive stream dies of that, we invalidate the transition
 *    ourselves with the library's own recoverFromInvalidTransition (op 31 and a fresh key package,
 *    so the voice server re-adds us) and the session subscribes to the speaker again at once.
 *
 * One warning per incident (the first failure after a quiet spell), the rest at debug level. The
 * unit test test/bots/discord/daveGuard.test.ts asserts that 0.19.2 still has the bug: when an upgrade
 * fixes it that test fails, and this guard should then be reduced to the passthrough part.
 */
import { VoiceConnectionStatus, type DAVESession, type VoiceConnection } from '@discordjs/voice';
import type { Logger } from '../../../util/log.ts';

/** The parts of @discordjs/voice's DAVESession the guard uses (all public there). */
export type DaveSessionLike = Pick<DAVESession, 'lastTransitionId' | 'reinitializing' | 'recoverFromInvalidTransition'> & {
  session?: { ready: boolean; setPassthroughMode(passthrough: boolean, expirySeconds?: number): void } | undefined;
};

export interface DaveGuardOptions {
  /** The connection's DAVE session now (a rejoin makes a new one), if DAVE is on. */
  current(): DaveSessionLike | undefined;
  logger: Logger;
  /** Milliseconds, for incidents and the recovery cooldown. */
  clock: () => number;
  guildId: string;
  /** Seconds during which unencrypted frames are accepted after a transition (default 10, the expiry the library and libdave use for transitions). */
  passthroughS?: number;
  /** Two recoveries at least this far apart; an incident ends after this long without failures (default 5 s). */
  cooldownMs?: number;
}

export class DaveGuard {
  readonly #o: DaveGuardOptions;
  #lastFailureAt = -Infinity;
  #lastRecoveryAt = -Infinity;
  /** Incidents so far (each logged once as a warning). */
  incidents = 0;
  recoveries = 0;

  constructor(options: DaveGuardOptions) {
    this.#o = options;
  }

  /** Watches a real connection: a passthrough window after each transition. */
  static watch(connection: VoiceConnection, options: Omit<DaveGuardOptions, 'current'>): DaveGuard {
    const guard = new DaveGuard({ ...options, current: () => daveOf(connection) });
    connection.on('transitioned', () => guard.onTransitioned());
    return guard;
  }

  /** A transition was executed (or a transition-0 Welcome/commit processed): passthrough for a little while. */
  onTransitioned(): void {
    const s = this.#o.current()?.session;
    if (!s?.ready) return;
    s.setPassthroughMode(true);
    // Off again after the expiry: libdave's "transition to passthrough off" semantics.
    s.setPassthroughMode(false, this.#o.passthroughS ?? 10);
  }

  /**
   * A speaker's receive stream was destroyed by an error. Returns whether to subscribe to them
   * again at once (always: a failed packet is a gap, never the end of a speaker).
   */
  onReceiveError(userId: string, error: unknown): boolean {
    const now = this.#o.clock();
    const cooldown = this.#o.cooldownMs ?? 5_000;
    const dave = this.#o.current();
    const newIncident = now - this.#lastFailureAt > cooldown;
    this.#lastFailureAt = now;
    let action = 'resubscribe';
    // The library's stuck state: davey's decrypt failed once too often and the library threw
    // instead of recovering because the last transition id is 0. (A transport — AES-GCM — failure
    // is not DAVE's: the speaker is only resubscribed.)
    const daveFailure = /DecryptionFailed/.test(error instanceof Error ? error.message : String(error));
    if (daveFailure && dave && !dave.reinitializing && dave.lastTransitionId === 0 && now - this.#lastRecoveryAt > cooldown) {
      this.#lastRecoveryAt = now;
      this.recoveries++;
      action = 'invalidate transition 0 and send a fresh key package';
      dave.recoverFromInvalidTransition(0);
    }
    const fields = {
      guildId: this.#o.guildId,
      userId,
      err: error instanceof Error ? error.message : String(error),
      action,
      lastTransitionId: dave?.lastTransitionId,
    };
    if (newIncident) {
      this.incidents++;
      this.#o.logger.warn(fields, 'voice receive failed for a speaker (DAVE or transport decryption); recovering');
    } else {
      this.#o.logger.debug(fields, 'voice receive failed again in the same incident');
    }
    return true;
  }
}

/** The DAVE session of a ready connection, if DAVE is on. */
export function daveOf(connection: VoiceConnection): DAVESession | undefined {
  const state = connection.state;
  if (state.status !== VoiceConnectionStatus.Ready && state.status !== VoiceConnectionStatus.Connecting) return undefined;
  const net = state.networking.state;
  return 'dave' in net ? net.dave : undefined;
}
