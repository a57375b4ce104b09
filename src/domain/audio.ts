/** The audio every model and decoder in voicemood works in: mono float32 at 16 kHz. */
export const SAMPLE_RATE = 16000;

/** Frames per second of the emotion2vec+ feature encoder (one frame per 20 ms). */
export const FRAME_RATE = 50;
