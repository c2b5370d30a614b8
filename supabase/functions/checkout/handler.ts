// Creates a Stripe Checkout Session for one package and answers its hosted page's URL.
// Stripe is called over its REST API with fetch rather than the SDK, so the function has no
// remote imports (CI fetches nothing) and STRIPE_API_BASE can point at the local stand-in.

export const TIERS = ["starter", "growth", "professional", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

const DEFAULT_STRIPE_API_BASE = "https://api.stripe.com";
const DEFAULT_TIMEOUT_MS = 10_000;
// Stripe swaps this literal for the session id when it redirects. It must reach Stripe
// unencoded once the form is decoded, so success_url is concatenated, never built with URL().
const SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}";
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ALLOWED_METHODS = "POST, OPTIONS";

export interface HandlerOptions {
  /** How long Stripe gets to answer, body included. */
  timeoutMs?: number;
}

interface Order {
  tier: Tier;
  email?: string;
}

interface Config {
  portalUrl: string;
  stripeApiBase: string;
  secretKey: string;
  signingSecret: string;
  price: string;
}

/** A failure with the status and JSON body the caller gets. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createHandler(options: HandlerOptions = {}): (req: Request) => Promise<Response> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (req) => {
    const cors = corsHeaders(Deno.env.get("PORTAL_URL"));
    try {
      if (req.method === "OPTIONS") {
        requireUrl("PORTAL_URL");
        return new Response(null, { status: 204, headers: cors });
      }
      if (req.method !== "POST") {
        throw new HttpError(405, "method must be POST", {}, { Allow: ALLOWED_METHODS });
      }
      const order = await readOrder(req);
      const session = await createSession(readConfig(order.tier), order, timeoutMs);
      log("info", { action: "checkout_session_created", session_id: session.id, tier: order.tier });
      return json(200, { url: session.url, id: session.id }, cors);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return json(error.status, { error: error.message, ...error.extra }, {
        ...cors,
        ...error.headers,
      });
    }
  };
}

export const handler = createHandler();

async function readOrder(req: Request): Promise<Order> {
  const badBody = new HttpError(400, "request body must be a JSON object", { field: "body" });
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw badBody;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badBody;
  const { tier, email } = body as Record<string, unknown>;
  if (typeof tier !== "string" || !(TIERS as readonly string[]).includes(tier)) {
    throw new HttpError(400, `tier must be one of ${TIERS.join(", ")}`, { field: "tier" });
  }
  if (email === undefined || email === null) return { tier: tier as Tier };
  if (typeof email !== "string" || email.length > 254 || !EMAIL_PATTERN.test(email)) {
    throw new HttpError(400, "email must be a valid email address", { field: "email" });
  }
  return { tier: tier as Tier, email };
}

function readConfig(tier: Tier): Config {
  return {
    portalUrl: requireUrl("PORTAL_URL"),
    stripeApiBase: requireUrl("STRIPE_API_BASE", DEFAULT_STRIPE_API_BASE),
    secretKey: requireEnv("STRIPE_SECRET_KEY"),
    // Shared with the webhook: signs each session so only ours become paid orders.
    signingSecret: requireEnv("CHECKOUT_SIGNING_SECRET"),
    price: requireEnv(`STRIPE_PRICE_${tier.toUpperCase()}`),
  };
}

/** The variable's value; a 500 naming it (never its value) when it is unset or empty. */
function requireEnv(name: string, fallback?: string): string {
  const value = Deno.env.get(name) || fallback;
  if (value) return value;
  log("error", { action: "checkout_misconfigured", variable: name });
  throw new HttpError(500, `server misconfigured: ${name} is not set`, { variable: name });
}

/** An http(s) base URL without its trailing slashes, so paths can be appended to it. */
function requireUrl(name: string, fallback?: string): string {
  const value = requireEnv(name, fallback).replace(/\/+$/, "");
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    log("error", { action: "checkout_misconfigured", variable: name });
    throw new HttpError(500, `server misconfigured: ${name} is not an http(s) URL`, {
      variable: name,
    });
  }
  return value;
}

async function createSession(
  config: Config,
  order: Order,
  timeoutMs: number,
): Promise<{ url: string; id: string }> {
  const form = new URLSearchParams({
    mode: "payment",
    "line_items[0][price]": config.price,
    "line_items[0][quantity]": "1",
    success_url: `${config.portalUrl}/onboarding?session_id=${SESSION_ID_PLACEHOLDER}`,
    cancel_url: `${config.portalUrl}/pricing?cancelled=1`,
    "metadata[tier]": order.tier,
    "metadata[price]": config.price,
  });
  if (order.email) form.set("customer_email", order.email);

  const session = await callStripe(config, "/v1/checkout/sessions", form, order, timeoutMs) as {
    url?: unknown;
    id?: unknown;
  } | null;
  if (typeof session?.url !== "string" || typeof session?.id !== "string") {
    throw stripeFailed(config, order, { reason: "malformed response" });
  }
  // The proof that this session is ours covers its own id, which Stripe only now told us, so
  // it is added by an update before anyone sees the payment page (see dbolt/checkout_proof.py).
  const proof = await checkoutProof(config.signingSecret, session.id, order.tier, config.price);
  await callStripe(
    config,
    `/v1/checkout/sessions/${encodeURIComponent(session.id)}`,
    new URLSearchParams({ "metadata[checkout_proof]": proof }),
    order,
    timeoutMs,
  );
  return { url: session.url, id: session.id };
}

/**
 * `v1.` + hex HMAC-SHA256(secret, `checkout:v1:<session id>:<tier>:<price>`): what the webhook
 * verifies (dbolt/checkout_proof.py) before the database will record a paid order.
 */
export async function checkoutProof(
  secret: string,
  sessionId: string,
  tier: string,
  price: string,
): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(`checkout:v1:${sessionId}:${tier}:${price}`),
  );
  const hex = [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `v1.${hex}`;
}

function stripeFailed(config: Config, order: Order, detail: Record<string, unknown>): HttpError {
  // Stripe's messages are for us, not the buyer; the keys are scrubbed in case one quotes them.
  const scrubbed = Object.entries(detail).map(([name, value]) => [
    name,
    typeof value === "string"
      ? value.replaceAll(config.secretKey, "[redacted]").replaceAll(
        config.signingSecret,
        "[redacted]",
      )
      : value,
  ]);
  log("error", {
    action: "stripe_checkout_failed",
    tier: order.tier,
    ...Object.fromEntries(scrubbed),
  });
  return new HttpError(502, "the payment provider could not create the checkout session");
}

/** One form POST to Stripe; its JSON answer, or a 502 (logged) when it fails or refuses. */
async function callStripe(
  config: Config,
  path: string,
  form: URLSearchParams,
  order: Order,
  timeoutMs: number,
): Promise<unknown> {
  let payload: unknown;
  let status: number;
  try {
    const res = await fetch(`${config.stripeApiBase}${path}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${config.secretKey}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.status;
    payload = await res.json().catch(() => null);
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw stripeFailed(config, order, {
      reason: timedOut ? "timeout" : "unreachable",
      message: String(error),
    });
  }
  if (status < 200 || status > 299) {
    const stripeError = (payload as { error?: Record<string, unknown> } | null)?.error ?? {};
    throw stripeFailed(config, order, {
      reason: "refused",
      status,
      type: stripeError.type,
      code: stripeError.code,
      message: stripeError.message,
    });
  }
  return payload;
}

/** CORS for the portal's origin, as Supabase recommends for functions called from a browser. */
function corsHeaders(portalUrl: string | undefined): Record<string, string> {
  if (!portalUrl || !URL.canParse(portalUrl)) return {};
  return {
    "Access-Control-Allow-Origin": new URL(portalUrl).origin,
    "Access-Control-Allow-Methods": ALLOWED_METHODS,
    "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
    "Access-Control-Max-Age": "86400",
    Vary: "Origin",
  };
}

function json(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "Content-Type": "application/json" },
  });
}

/** One JSON line per event, with an `action` field, as the Python services log. */
function log(level: "info" | "error", fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, function: "checkout", ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
