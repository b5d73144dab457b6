// Runs each provider's official webhook library on the cases that
// ingest/signature's TestOfficialLibraries generates, and prints the
// libraries' verdicts. Input (stdin): a JSON array of
//   {id, scheme, secret, headers: [[name, value], ...], body (base64), url, now (Unix ms)}
// Output (stdout): a JSON array of {id, ok, error}: ok is true when the
// library accepts the request, error is its message when it rejects it.
//
// Each library reads the clock itself (Date.now() or new Date()); the
// script replaces Date so that every case runs at its own `now`.
import { readFileSync } from 'node:fs';
import querystring from 'node:querystring';

import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Paddle } from '@paddle/paddle-node-sdk';
import sendgrid from '@sendgrid/eventwebhook';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';
import bolt from '@slack/bolt';
import { AwsLambdaReceiver } from '@zoom/rivet/meetings';
import { verifyKey } from 'discord-interactions';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import twilio from 'twilio';

const RealDate = Date;
let fakeNow = RealDate.now();
class FakeDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(fakeNow);
    else super(...args);
  }
  static now() {
    return fakeNow;
  }
}
globalThis.Date = FakeDate;
console.debug = () => {}; // @zoom/rivet logs every event it processes

// nodeHeaders builds what Node's http.IncomingMessage.headers would hold:
// lower-case names, repeated headers joined with ", ".
function nodeHeaders(pairs) {
  const h = {};
  for (const [name, value] of pairs) {
    const k = name.toLowerCase();
    h[k] = k in h ? `${h[k]}, ${value}` : value;
  }
  return h;
}

const stripe = new Stripe('sk_test_hookscope');
const paddle = new Paddle('pdl_test_hookscope', { logLevel: 'none' });
const shopifyClients = new Map();
function shopify(secret) {
  if (!shopifyClients.has(secret)) {
    shopifyClients.set(
      secret,
      shopifyApi({
        apiKey: 'hookscope',
        apiSecretKey: secret,
        hostName: 'hookscope.example.com',
        apiVersion: ApiVersion.October25 ?? Object.values(ApiVersion).at(-1),
        isEmbeddedApp: false,
        logger: { level: LogSeverity.Error, log: () => {} },
      }),
    );
  }
  return shopifyClients.get(secret);
}

// Each verifier returns true (accepted), or throws / returns false.
const verifiers = {
  async stripe(c, h, body) {
    stripe.webhooks.constructEvent(body, h['stripe-signature'], c.secret, undefined, undefined, c.now);
    return true;
  },
  async github(c, h, body) {
    return octokitVerify(c.secret, body.toString('utf8'), h['x-hub-signature-256']);
  },
  async slack(c, h, body) {
    // As bolt's HTTPModuleFunctions.parseAndVerifyHTTPRequest calls it.
    bolt.verifySlackRequest({
      signingSecret: c.secret,
      body: body.toString('utf8'),
      headers: {
        'x-slack-signature': h['x-slack-signature'],
        'x-slack-request-timestamp': Number(h['x-slack-request-timestamp']),
      },
      nowMilliseconds: c.now,
    });
    return true;
  },
  async shopify(c, h, body) {
    const res = await shopify(c.secret).webhooks.validate({
      rawBody: body.toString('utf8'),
      rawRequest: { method: 'POST', url: '/webhooks', headers: h },
      rawResponse: {},
    });
    if (!res.valid) throw new Error(`${res.reason}${res.missingHeaders ? ': ' + res.missingHeaders.join(',') : ''}`);
    return true;
  },
  async twilio(c, h, body) {
    const algorithm = twilio.getSignatureAlgorithm(h['x-twilio-webhooks-signature-settings']);
    const sig = h['x-twilio-signature'] || '';
    if (c.url.includes('bodySHA256')) {
      return twilio.validateRequestWithBody(c.secret, sig, c.url, body.toString('utf8'), algorithm);
    }
    const params = querystring.parse(body.toString('utf8'));
    return twilio.validateRequest(c.secret, sig, c.url, params, algorithm);
  },
  async paddle(c, h, body) {
    return paddle.webhooks.isSignatureValid(body.toString('utf8'), c.secret, h['paddle-signature']);
  },
  async zoom(c, h, body) {
    const receiver = new AwsLambdaReceiver({ webhooksSecretToken: c.secret });
    receiver.init({ eventEmitter: { emit: async () => {} } });
    const res = await receiver.start()({ body: body.toString('utf8'), headers: h, isBase64Encoded: false }, {});
    if (res.statusCode !== 200) throw new Error(res.body);
    return true;
  },
  async linear(c, h, body) {
    const sig = h['linear-signature'];
    if (!sig) throw new Error('Missing webhook signature'); // the handler's 400
    return new LinearWebhookClient(c.secret).verify(body, sig);
  },
  async discord(c, h, body) {
    const sig = h['x-signature-ed25519'];
    const ts = h['x-signature-timestamp'];
    if (!sig || !ts) throw new Error('Invalid signature'); // verifyKeyMiddleware's 401
    return verifyKey(body, sig, ts, c.secret);
  },
  async sendgrid(c, h, body) {
    const ew = new sendgrid.EventWebhook();
    const key = ew.convertPublicKeyToECDSA(c.secret);
    return ew.verifySignature(
      key,
      body.toString('utf8'),
      h['x-twilio-email-event-webhook-signature'],
      h['x-twilio-email-event-webhook-timestamp'],
    );
  },
  async 'standard-webhooks'(c, h, body) {
    new StandardWebhook(c.secret).verify(body.toString('utf8'), h);
    return true;
  },
  async svix(c, h, body) {
    new SvixWebhook(c.secret).verify(body.toString('utf8'), h);
    return true;
  },
};

const cases = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const c of cases) {
  const verify = verifiers[c.scheme];
  if (!verify) {
    out.push({ id: c.id, ok: false, error: `no official library for ${c.scheme}` });
    continue;
  }
  fakeNow = c.now;
  try {
    const ok = await verify(c, nodeHeaders(c.headers), Buffer.from(c.body, 'base64'));
    out.push({ id: c.id, ok: ok === true, error: ok === true ? '' : 'returned false' });
  } catch (e) {
    out.push({ id: c.id, ok: false, error: String(e && e.message ? e.message : e).split('\n')[0] });
  }
}
fakeNow = RealDate.now();
process.stdout.write(JSON.stringify(out));
