// Which parser a POST /score body goes to: its declared content type, and nothing else. The media type is
// compared case-insensitively without its parameters ("Application/JSON; charset=utf-8" is JSON); bytes are
// never sniffed, so raw pixels that happen to start like a PNG stay pixels.

/** The body kinds /score takes, by media type. */
export const BODY_KINDS = {
  "application/json": "json",
  "image/png": "png",
  "image/jpeg": "jpeg",
  "application/octet-stream": "raw",
} as const;
export type BodyKind = (typeof BODY_KINDS)[keyof typeof BODY_KINDS];
export const SUPPORTED_TYPES = Object.keys(BODY_KINDS).join(", ");

/** The media type of a content-type header: lower case, parameters dropped; "" when there is none. */
export const mediaType = (header: string | undefined): string => (header ?? "").split(";")[0]!.trim().toLowerCase();

export const bodyKind = (header: string | undefined): BodyKind | undefined => BODY_KINDS[mediaType(header) as keyof typeof BODY_KINDS];

/** Why a content type is refused (415), and what to send instead. */
export function unsupportedType(header: string | undefined): string {
  const type = mediaType(header);
  const takes = `POST /score takes ${SUPPORTED_TYPES}`;
  if (!type) return `the request has no content-type: ${takes}; say which, e.g. -H 'content-type: application/octet-stream' for raw pixels`;
  if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data")
    return `${type} (a form) is not taken: send images as JSON {"images": [[...pixels], ...]} with content-type: application/json, or one image file with its own type; ${takes}`;
  return `content-type ${type} is not taken (415): ${takes}`;
}
