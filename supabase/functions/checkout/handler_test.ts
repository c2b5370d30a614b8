// The checkout function against a fake Stripe: a real HTTP server on 127.0.0.1 that records
// each request and answers what the test scripts. Run with --allow-net=127.0.0.1 --allow-env.
// Assertions are local: std/assert is a remote module and node:assert wants @types/node,
// and the tests must run with nothing fetched.
import { checkoutProof, createHandler, handler, TIERS } from "./handler.ts";

function ok(condition: unknown, message = "expected a truthy value"): asserts condition {
  if (!condition) throw new Error(message);
}

function equal(actual: unknown, expected: unknown, context = ""): void {
  if (!Object.is(actual, expected)) {
    throw new Error(
      `${context ? context + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

/** Structural equality of JSON-like values (object key order ignored). */
function deepStrictEqual(actual: unknown, expected: unknown, context = ""): void {
  if (!sameValue(actual, expected)) {
    throw new Error(
      `${context ? context + ": " : ""}expected ${show(expected)}\n     got ${show(actual)}`,
    );
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length &&
    keysA.every((key) =>
      Object.hasOwn(b, key) &&
      sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    );
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

const SECRET_KEY = "sk_test_checkout_fixture_51Hx";
const SIGNING_SECRET = "checkout_signing_fixture";
const PORTAL = "http://portal.test:8000";
const PRICES = {
  STRIPE_PRICE_STARTER: "price_starter_50",
  STRIPE_PRICE_GROWTH: "price_growth_100",
  STRIPE_PRICE_PROFESSIONAL: "price_professional_300",
  STRIPE_PRICE_ENTERPRISE: "price_enterprise_500",
};
const SESSION = {
  id: "cs_test_a1b2c3",
  object: "checkout.session",
  url: "https://checkout.stripe.test/c/pay/cs_test_a1b2c3",
};

interface Recorded {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

type Responder = (req: Request) => Response | Promise<Response>;

interface Fixture {
  requests: Recorded[];
  logs: string[];
  call: (init?: RequestInit) => Promise<Response>;
}

/**
 * Runs `body` with a fake Stripe serving `responder`, the function's environment pointing at
 * it (overridable with `env`; undefined unsets), and console output captured.
 */
async function withStripe(
  responder: Responder,
  body: (fixture: Fixture) => Promise<void>,
  env: Record<string, string | undefined> = {},
  fn: (req: Request) => Promise<Response> = handler,
): Promise<void> {
  const requests: Recorded[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    requests.push({
      method: req.method,
      path: url.pathname,
      headers: req.headers,
      body: await req.text(),
    });
    return responder(req);
  });
  const vars: Record<string, string | undefined> = {
    STRIPE_API_BASE: `http://127.0.0.1:${server.addr.port}`,
    STRIPE_SECRET_KEY: SECRET_KEY,
    CHECKOUT_SIGNING_SECRET: SIGNING_SECRET,
    PORTAL_URL: PORTAL,
    ...PRICES,
    ...env,
  };
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, Deno.env.get(name)]));
  const logs: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => logs.push(args.join(" "));
  console.error = (...args: unknown[]) => logs.push(args.join(" "));
  setEnv(vars);
  try {
    const call = (init: RequestInit = {}) =>
      fn(new Request("http://functions.test/functions/v1/checkout", { method: "POST", ...init }));
    await body({ requests, logs, call });
  } finally {
    setEnv(saved);
    console.log = log;
    console.error = error;
    await server.shutdown();
  }
}

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
}

const sessionOk: Responder = () => Response.json(SESSION);
const postJson = (body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { "Content-Type": "application/json" },
});

Deno.test("creates a Checkout Session with exactly the form Stripe expects", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    const res = await call(postJson({ tier: "growth", email: "owner@bakery.example" }));

    equal(res.status, 200);
    deepStrictEqual(await res.json(), { url: SESSION.url, id: SESSION.id });
    equal(res.headers.get("Access-Control-Allow-Origin"), PORTAL);
    equal(requests.length, 2);
    const [sent, signed] = requests;
    equal(sent.method, "POST");
    equal(sent.path, "/v1/checkout/sessions");
    equal(sent.headers.get("authorization"), `Bearer ${SECRET_KEY}`);
    equal(sent.headers.get("content-type"), "application/x-www-form-urlencoded");
    deepStrictEqual([...new URLSearchParams(sent.body)], [
      ["mode", "payment"],
      ["line_items[0][price]", "price_growth_100"],
      ["line_items[0][quantity]", "1"],
      ["success_url", `${PORTAL}/onboarding?session_id={CHECKOUT_SESSION_ID}`],
      ["cancel_url", `${PORTAL}/pricing?cancelled=1`],
      ["metadata[tier]", "growth"],
      ["metadata[price]", "price_growth_100"],
      ["customer_email", "owner@bakery.example"],
    ]);
    // Then the session is signed as ours, by an update of its metadata only.
    equal(signed.method, "POST");
    equal(signed.path, `/v1/checkout/sessions/${SESSION.id}`);
    equal(signed.headers.get("authorization"), `Bearer ${SECRET_KEY}`);
    deepStrictEqual([...new URLSearchParams(signed.body)], [
      ["metadata[checkout_proof]", PROOF_VECTOR],
    ]);
  });
});

// The same vector is asserted in Python (tests/integration/test_checkout_integrity.py), so the function
// and the webhook's check (dbolt/checkout_proof.py) cannot drift apart.
const PROOF_VECTOR = "v1.3a32e9d07c2f47030d848578cddaf1171dad734cec5daaa03dee24d6d3d8f6dd";

Deno.test("the checkout proof matches the webhook's construction", async () => {
  equal(
    await checkoutProof(SIGNING_SECRET, "cs_test_a1b2c3", "growth", "price_growth_100"),
    PROOF_VECTOR,
  );
  ok(
    await checkoutProof(SIGNING_SECRET, "cs_test_other", "growth", "price_growth_100") !==
      PROOF_VECTOR,
    "the proof must depend on the session id",
  );
});

Deno.test("a session Stripe created but we could not sign is not handed out", async () => {
  const signRefused: Responder = (req) =>
    new URL(req.url).pathname === "/v1/checkout/sessions"
      ? Response.json(SESSION)
      : Response.json({ error: { type: "invalid_request_error", message: "nope" } }, {
        status: 400,
      });
  await withStripe(signRefused, async ({ requests, call }) => {
    const res = await call(postJson({ tier: "starter" }));
    equal(res.status, 502);
    equal(JSON.stringify(await res.json()).includes(SESSION.url), false);
    equal(requests.length, 2);
  });
});

Deno.test("the {CHECKOUT_SESSION_ID} placeholder is encoded once, so Stripe reads it literally", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    await call(postJson({ tier: "starter" }));

    const body = requests[0].body;
    ok(body.includes("session_id%3D%7BCHECKOUT_SESSION_ID%7D"), body);
    ok(!body.includes("%257B"), `placeholder double-encoded: ${body}`);
  });
});

Deno.test("each tier gets its own price and its name in metadata", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    for (const tier of TIERS) {
      equal((await call(postJson({ tier }))).status, 200);
    }
    const sent = requests.filter((r) => r.path === "/v1/checkout/sessions").map((r) =>
      new URLSearchParams(r.body)
    );
    deepStrictEqual(sent.map((form) => form.get("line_items[0][price]")), [
      "price_starter_50",
      "price_growth_100",
      "price_professional_300",
      "price_enterprise_500",
    ]);
    deepStrictEqual(sent.map((form) => form.get("metadata[tier]")), [...TIERS]);
  });
});

Deno.test("without an email, Checkout asks for one itself", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    equal((await call(postJson({ tier: "enterprise", email: null }))).status, 200);
    equal(new URLSearchParams(requests[0].body).has("customer_email"), false);
  });
});

Deno.test("trailing slashes in PORTAL_URL and STRIPE_API_BASE do not double up", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    const base = Deno.env.get("STRIPE_API_BASE");
    Deno.env.set("STRIPE_API_BASE", `${base}/`);
    Deno.env.set("PORTAL_URL", `${PORTAL}/`);
    equal((await call(postJson({ tier: "starter" }))).status, 200);
    equal(requests[0].path, "/v1/checkout/sessions");
    const form = new URLSearchParams(requests[0].body);
    equal(form.get("success_url"), `${PORTAL}/onboarding?session_id={CHECKOUT_SESSION_ID}`);
  });
});

Deno.test("an unknown, missing or non-string tier is a 400 naming tier, and Stripe is not called", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    for (const body of [{ tier: "platinum" }, {}, { tier: 3 }, { tier: "Starter" }]) {
      const res = await call(postJson(body));
      equal(res.status, 400, JSON.stringify(body));
      deepStrictEqual(await res.json(), {
        error: "tier must be one of starter, growth, professional, enterprise",
        field: "tier",
      });
    }
    equal(requests.length, 0);
  });
});

Deno.test("a malformed email is a 400 naming email", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    for (const email of ["not-an-email", "", "a b@c.d", 42, "x@".padEnd(260, "y") + ".com"]) {
      const res = await call(postJson({ tier: "starter", email }));
      equal(res.status, 400, String(email));
      deepStrictEqual(await res.json(), {
        error: "email must be a valid email address",
        field: "email",
      });
    }
    equal(requests.length, 0);
  });
});

Deno.test("a body that is not a JSON object is a 400 naming the body", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    for (const body of ["{tier: starter", "", '["starter"]', "null", '"starter"']) {
      const res = await call({ body });
      equal(res.status, 400, body);
      deepStrictEqual(await res.json(), {
        error: "request body must be a JSON object",
        field: "body",
      });
    }
    equal(requests.length, 0);
  });
});

Deno.test("any method but POST and OPTIONS is a 405 with Allow", async () => {
  await withStripe(sessionOk, async ({ call }) => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await call({ method });
      equal(res.status, 405, method);
      equal(res.headers.get("Allow"), "POST, OPTIONS");
      deepStrictEqual(await res.json(), { error: "method must be POST" });
    }
  });
});

Deno.test("a CORS preflight is answered for the portal's origin only", async () => {
  await withStripe(sessionOk, async ({ requests, call }) => {
    const res = await call({
      method: "OPTIONS",
      headers: {
        Origin: "http://portal.test:8000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
    });
    equal(res.status, 204);
    equal(await res.text(), "");
    equal(res.headers.get("Access-Control-Allow-Origin"), "http://portal.test:8000");
    equal(res.headers.get("Access-Control-Allow-Methods"), "POST, OPTIONS");
    ok(res.headers.get("Access-Control-Allow-Headers")?.includes("authorization"));
    ok(res.headers.get("Access-Control-Allow-Headers")?.includes("apikey"));
    equal(requests.length, 0);
  }, { PORTAL_URL: "http://portal.test:8000/app/" });
});

for (
  const variable of [
    "STRIPE_SECRET_KEY",
    "PORTAL_URL",
    "STRIPE_PRICE_PROFESSIONAL",
    "CHECKOUT_SIGNING_SECRET",
  ]
) {
  Deno.test(`a missing ${variable} is a 500 naming it`, async () => {
    await withStripe(sessionOk, async ({ requests, logs, call }) => {
      const res = await call(postJson({ tier: "professional" }));
      equal(res.status, 500);
      deepStrictEqual(await res.json(), {
        error: `server misconfigured: ${variable} is not set`,
        variable,
      });
      equal(requests.length, 0);
      ok(logs.some((line) => line.includes(variable)), logs.join("\n"));
    }, { [variable]: undefined });
  });
}

Deno.test("an empty price variable counts as missing; other tiers still sell", async () => {
  await withStripe(sessionOk, async ({ call }) => {
    equal((await call(postJson({ tier: "starter" }))).status, 500);
    equal((await call(postJson({ tier: "growth" }))).status, 200);
  }, { STRIPE_PRICE_STARTER: "" });
});

Deno.test("an unparseable STRIPE_API_BASE is a 500 naming it, without its value", async () => {
  await withStripe(sessionOk, async ({ call }) => {
    const res = await call(postJson({ tier: "starter" }));
    equal(res.status, 500);
    const body = await res.json();
    equal(body.variable, "STRIPE_API_BASE");
    ok(!JSON.stringify(body).includes("stripe.internal"));
  }, { STRIPE_API_BASE: "stripe.internal:12111" });
});

Deno.test("a Stripe error is a 502 with a safe message; the log has Stripe's reason, not the key", async () => {
  const refuse: Responder = () =>
    Response.json({
      error: {
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such price: 'price_growth_100' (key ${SECRET_KEY})`,
        param: "line_items[0][price]",
      },
    }, { status: 400 });
  await withStripe(refuse, async ({ logs, call }) => {
    const res = await call(postJson({ tier: "growth", email: "owner@bakery.example" }));

    equal(res.status, 502);
    deepStrictEqual(await res.json(), {
      error: "the payment provider could not create the checkout session",
    });
    equal(res.headers.get("Access-Control-Allow-Origin"), PORTAL);
    const failure = logs.map((line) => JSON.parse(line)).find((entry) =>
      entry.action === "stripe_checkout_failed"
    );
    deepStrictEqual(failure, {
      level: "error",
      function: "checkout",
      action: "stripe_checkout_failed",
      tier: "growth",
      reason: "refused",
      status: 400,
      type: "invalid_request_error",
      code: "resource_missing",
      message: "No such price: 'price_growth_100' (key [redacted])",
    });
    ok(!logs.join("\n").includes(SECRET_KEY));
  });
});

Deno.test("a Stripe answer without a session URL is a 502", async () => {
  await withStripe(() => Response.json({ id: "cs_test_no_url" }), async ({ call }) => {
    equal((await call(postJson({ tier: "starter" }))).status, 502);
  });
  await withStripe(() => new Response("<html>gateway</html>"), async ({ call }) => {
    equal((await call(postJson({ tier: "starter" }))).status, 502);
  });
});

Deno.test("Stripe unreachable is a 502", async () => {
  // A port that was just listening and is now closed: connection refused, fast.
  const closed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(),
  );
  const port = closed.addr.port;
  await closed.shutdown();
  await withStripe(sessionOk, async ({ logs, call }) => {
    equal((await call(postJson({ tier: "starter" }))).status, 502);
    ok(logs.some((line) => line.includes('"reason":"unreachable"')), logs.join("\n"));
    ok(!logs.join("\n").includes(SECRET_KEY));
  }, { STRIPE_API_BASE: `http://127.0.0.1:${port}` });
});

Deno.test("Stripe too slow is a 502 once the timeout passes", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const hang: Responder = async () => {
    await released;
    return Response.json(SESSION);
  };
  await withStripe(
    hang,
    async ({ logs, call }) => {
      // Without a working timeout the fake answers 200 after 5 s: a failure, not a hang.
      const guard = setTimeout(release, 5_000);
      try {
        equal((await call(postJson({ tier: "starter" }))).status, 502);
        ok(logs.some((line) => line.includes('"reason":"timeout"')), logs.join("\n"));
      } finally {
        clearTimeout(guard);
        release();
      }
    },
    {},
    createHandler({ timeoutMs: 200 }),
  );
});
