// The OpenAPI 3.1 document of the edge functions whose input is a zod schema, built from those
// schemas (z.toJSONSchema: OpenAPI 3.1 schemas are JSON Schema 2020-12), so the document and the
// 400s the functions answer come from one definition. Written to docs/functions.openapi.json by
// scripts/gen-functions-openapi.ts (npm run types); tests/docs/functions-openapi.test.ts fails
// when the committed document is stale. What each function does: docs/api.md.
import { z } from "zod";
import { audienceRequest, bulkMessage, contentSchemas, idempotencyKey, previewRequest } from "../../supabase/functions/_shared/messaging/schemas.ts";
import { exportParams } from "../../supabase/functions/timeline-export/params.ts";

type JsonSchema = Record<string, unknown>;

// A zod schema as the JSON Schema of what a client sends (before transforms), without $schema.
function schemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;
  return rest;
}

// The error body every function answers with (supabase/functions/_shared/http.ts, docs/errors.md).
const errorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: "a stable code, e.g. invalid_body, forbidden, too_large" }),
    message: z.string().meta({ description: "names the first bad field, e.g. content.text: at most 1600 characters" }),
    details: z.unknown().meta({ description: "for a 400 of a body: every zod issue as {path, code, message}" }),
  }),
});

const refusals: Record<string, string> = {
  "400": "the input does not match the schema (the first bad field is named), or SQL refuses it (22023)",
  "401": "no valid JWT or API key",
  "403": "the caller lacks the role",
  "413": "the body is larger than the function accepts",
};

function responses(success: [string, string, Record<string, unknown>], more: Record<string, string> = {}) {
  const [status, description, content] = success;
  const errors = Object.fromEntries(Object.entries({ ...refusals, ...more }).map(([code, text]) =>
    [code, { description: text, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }]));
  return { [status]: { description, content }, ...errors };
}

const jsonObject = (description: string) => ({ "application/json": { schema: { type: "object", description } } });

function jsonBody(schema: z.ZodType) {
  return { required: true, content: { "application/json": { schema: schemaOf(schema) } } };
}

const contentNote = "content is checked against the channel's content schema (components: EmailContent, SmsContent, PushContent); " +
  "give exactly one of template_id and content";

// The query parameters of a GET whose parameters are one zod object.
function queryParameters(schema: z.ZodType) {
  const object = schemaOf(schema) as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties).map(([name, s]) =>
    ({ name, in: "query", required: object.required?.includes(name) ?? false, schema: s }));
}

export function functionsOpenApi(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Rental CRM edge functions",
      version: "1",
      description: "The functions whose input is a zod schema, generated from those schemas by scripts/gen-functions-openapi.ts. " +
        "Every function, its roles and refusals: docs/api.md. Rules zod checks in code (content per channel, one of template_id " +
        "and content) are described; SQL checks every rule again and has the last word.",
    },
    servers: [{ url: "/functions/v1" }],
    security: [{ bearer: [] }],
    paths: {
      "/bulk-message": {
        post: {
          operationId: "bulkMessage",
          summary: "Queue a campaign: one recipient per audience member, with its fate (communications role)",
          description: contentNote,
          parameters: [{
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description: "a repeat with the same key answers the first answer; the same key with another request is a 422",
            schema: schemaOf(idempotencyKey),
          }],
          requestBody: jsonBody(bulkMessage),
          responses: responses(["202", "queued", jsonObject("campaign_id, audience_count, queued, skipped")],
            { "422": "the Idempotency-Key was used with another request" }),
        },
      },
      "/communications-audience": {
        post: {
          operationId: "communicationsAudience",
          summary: "Freeze an audience and report its size and eligibility per channel (communications role)",
          requestBody: jsonBody(audienceRequest),
          responses: responses(["201", "frozen", jsonObject("the frozen audience: its id, size and eligibility per channel")]),
        },
      },
      "/message-preview": {
        post: {
          operationId: "messagePreview",
          summary: "Render a template or ad-hoc content for one customer (communications role)",
          description: contentNote,
          requestBody: jsonBody(previewRequest),
          responses: responses(["200", "rendered", jsonObject("channel, template_version, subject, title, text, html")],
            { "404": "no such customer or template" }),
        },
      },
      "/timeline-export": {
        get: {
          operationId: "timelineExport",
          summary: "The customer's timeline as CSV, newest first, streamed (admin role)",
          description: "types: comma-separated event types; since, until: an ISO date or date-time (a date is midnight UTC)",
          parameters: queryParameters(exportParams),
          responses: responses(["200", "the CSV file", { "text/csv": { schema: { type: "string" } } }], { "404": "no such customer" }),
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Error: schemaOf(errorBody),
        EmailContent: schemaOf(contentSchemas.email),
        SmsContent: schemaOf(contentSchemas.sms),
        PushContent: schemaOf(contentSchemas.push),
      },
    },
  };
}

// The document as committed: two-space JSON and a final newline.
export function functionsOpenApiJson(): string {
  return JSON.stringify(functionsOpenApi(), null, 2) + "\n";
}
