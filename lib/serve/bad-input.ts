/** The client sent something that is not an image the model scores: answer 400 with this message. */
export class BadInputError extends Error {
  override name = "BadInputError";
}
