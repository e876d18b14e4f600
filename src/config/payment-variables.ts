import Joi from 'joi';
import { bool, decimal, json, port } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';
import { DEFAULT_BTP_SERVER } from '../ilp/plugin.js';

/** Prices, payments and the ILP provider they arrive through. */

/** Whole units of the provider's asset per pod-month when no price is configured. */
export const DEFAULT_COST_PER_MONTH = '10';
export const PAYMENT_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_POD_ILP',
    schema: bool,
    expected: 'true or false',
    default: 'true',
    description:
      'Every pod gets an ILP account of its own through a connector inside codiusd (Podman runtime), with ILP_PLUGIN and ILP_CREDENTIALS set in its containers.',
  },
  {
    name: 'CODIUS_POD_ILP_PORT',
    schema: port,
    expected: 'a TCP port number from 1 to 65535',
    default: '7768',
    description: "Port of the pods' BTP endpoint, on the pod network's gateway address (never the wildcard).",
  },
  {
    name: 'CODIUS_POD_ILP_SPREAD',
    schema: Joi.number().min(0).max(0.5),
    expected: 'a fraction from 0 to 0.5, e.g. 0.002',
    default: '0',
    description: "The connector's fee on what pods send and receive (0: no fee).",
  },
  {
    name: 'CODIUS_COST_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number, e.g. 10 or 0.5',
    defaultText: DEFAULT_COST_PER_MONTH,
    description:
      'Price of one pod for 2,628,000 s, in whole units of the host asset. Aliases, in order: COST_PER_MONTH, CODIUS_XRP_PER_MONTH.',
  },
  {
    name: 'COST_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number',
    defaultText: 'unset',
    description: 'Alias of CODIUS_COST_PER_MONTH (used when that is unset).',
  },
  {
    name: 'CODIUS_XRP_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number',
    defaultText: 'unset',
    description: 'Legacy alias of CODIUS_COST_PER_MONTH (used when both others are unset).',
  },
  {
    name: 'CODIUS_QUOTE_MODE',
    schema: Joi.string().valid('free', 'stream'),
    expected: 'free or stream',
    default: 'free',
    description:
      'OPTIONS /pods: free answers at once (what the published CLI 3.1.0 needs); stream asks for the zero-amount STREAM handshake of the unreleased CLI.',
  },
  {
    name: 'CODIUS_PAYMENT_TIMEOUT',
    schema: Joi.number().greater(0).max(600),
    expected: 'a number of seconds in (0, 600]',
    default: '60',
    description:
      'How long a paid request waits for the full price to arrive over STREAM; what arrived by then is kept as the manifest credit.',
  },
  {
    name: 'CODIUS_MAX_DURATION',
    schema: Joi.number().integer().min(1).max(315_360_000),
    expected: 'an integer number of seconds from 1 to 315360000 (ten years)',
    default: '31536000',
    description:
      'Longest duration one upload or extension may buy (31536000: 365 days); longer ones get 400.',
  },
  {
    name: 'CODIUS_OPEN_PAYMENTS_WALLET',
    schema: Joi.string().uri({ scheme: ['https', 'http'] }),
    expected: "the https:// URL of the host's wallet address, e.g. https://ilp.gatehub.net/123456789",
    defaultText: 'unset: no Open Payments',
    description:
      'Take payments into this Open Payments wallet address: a 402 offers an incoming payment on it, beside STREAM. With it, moneyd is optional. http:// only on loopback in development mode.',
  },
  {
    name: 'CODIUS_OPEN_PAYMENTS_KEY_ID',
    schema: Joi.string().min(1).max(200),
    expected: "the key id the wallet's provider shows for the registered key",
    defaultText: 'unset',
    description:
      'Id of the Ed25519 key registered for CODIUS_OPEN_PAYMENTS_WALLET (codiusd keygen makes one).',
  },
  {
    name: 'CODIUS_OPEN_PAYMENTS_PRIVATE_KEY',
    schema: Joi.string().min(1),
    expected: 'the path of the PEM private key, mode 600',
    defaultText: 'unset',
    description:
      'The Ed25519 private key codiusd signs its Open Payments requests with (refused unless mode 600).',
  },
  {
    name: 'CODIUS_OPEN_PAYMENTS_COST_PER_MONTH',
    schema: decimal,
    expected: "a non-negative decimal number, in whole units of the wallet's asset",
    defaultText: "CODIUS_COST_PER_MONTH, when the wallet is in the STREAM provider's asset",
    description:
      "Price of one pod for 2,628,000 s in the wallet's asset; needed when that asset is not the STREAM provider's.",
  },
  {
    name: 'CODIUS_OPEN_PAYMENTS_OFFER_TTL',
    schema: Joi.number().integer().min(2).max(86_400),
    expected: 'an integer number of seconds from 2 to 86400',
    default: '600',
    description:
      'How long an offered incoming payment can be paid (a person may have to consent in their wallet first); what it holds when it ends unbooked is the manifest credit.',
  },
  {
    name: 'ILP_PLUGIN',
    schema: Joi.string().min(1),
    expected: 'an npm module name',
    default: 'ilp-plugin-btp',
    description: 'ILP plugin used to reach moneyd.',
  },
  {
    name: 'ILP_BTP_SERVER',
    schema: Joi.string().uri({ scheme: ['btp+ws', 'btp+wss'] }),
    expected: 'a btp+ws:// or btp+wss:// URL, e.g. btp+ws://localhost:7768',
    defaultText: DEFAULT_BTP_SERVER,
    description:
      'BTP server of the ILP provider when ILP_CREDENTIALS is unset; a random secret is added, so each connection gets its own moneyd sub-account.',
  },
  {
    name: 'ILP_CREDENTIALS',
    schema: json(Joi.object().unknown(true)),
    expected: 'a JSON object of plugin options',
    defaultText: 'BTP to the local moneyd on localhost:7768 with a random secret',
    description: 'Options of ILP_PLUGIN. Contains secrets: it is never logged.',
    secret: true,
  },
];
