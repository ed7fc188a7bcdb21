/**
 * A client request the converter cannot translate: the relay answers 400 naming `field`, and no
 * member is cooled (CONTRACT "Bad input"). Any other exception thrown by conversion code is a
 * gateway bug: 500, nothing cooled.
 */
export class ConversionError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConversionError';
  }
}
