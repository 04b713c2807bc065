/**
 * The error envelope of every non-2xx answer and the error the helpers throw for one.
 */
import type { components } from "./schema.js";

/** Every machine code the API returns. */
export type Code = components["schemas"]["Code"];

/**
 * The error envelope of every non-2xx answer: `{message, code, request_id}`; a validation failure
 * (422 `VALIDATION_FAILED`) adds `errors`, field name → localized messages. `C` narrows the code.
 */
export type ErrorEnvelope<C extends Code = Code> = Omit<components["schemas"]["Error"], "code"> & {
  code: C;
  /** Field name (dot path for nested fields) → localized messages; present on `VALIDATION_FAILED`. */
  errors?: Record<string, string[]>;
};

/** The 422 `VALIDATION_FAILED` envelope, whose `errors` map is always present. */
export type ValidationEnvelope = ErrorEnvelope<"VALIDATION_FAILED"> & { errors: Record<string, string[]> };

/** The error envelope of every non-2xx answer (kept under its first name). */
export type ApiErrorBody = ErrorEnvelope;

/** isValidationError narrows an envelope to the 422 one with its `errors` map. */
export function isValidationError(body: unknown): body is ValidationEnvelope {
  return !!body && typeof body === "object" && (body as { code?: unknown }).code === "VALIDATION_FAILED" && typeof (body as { errors?: unknown }).errors === "object";
}

/** ApiError is thrown by the helpers below for any non-2xx answer. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The stable machine code (`NOT_IMPLEMENTED`, `VALIDATION_FAILED`, …). */
  readonly code: Code | undefined;
  /** The parsed error envelope, when the body was JSON. */
  readonly body: ApiErrorBody | undefined;
  /** The path that answered (without the origin), for messages. */
  readonly path: string;

  constructor(status: number, body: ApiErrorBody | undefined, url = "") {
    const path = url ? new URL(url).pathname : "";
    super(`${path ? path + ": " : ""}HTTP ${status} ${body?.code ?? ""}: ${body?.message ?? "(no body)"}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.code;
    this.body = body;
    this.path = path;
  }

  /** True when the server answered 501 NOT_IMPLEMENTED: the operation is in the spec but not built yet. */
  get notImplemented(): boolean {
    return this.status === 501 && this.code === "NOT_IMPLEMENTED";
  }
}

/**
 * ok returns the body of a successful openapi-fetch result and throws an {@link ApiError} otherwise.
 * Every error response of the spec is the `Error` envelope, so the cast of `error` is sound.
 */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw new ApiError(result.response.status, result.error as ApiErrorBody | undefined, result.response.url);
}

