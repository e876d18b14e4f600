import { VARIABLES } from '../config/variables.js';

/** What `codiusd setup` asks; each answer is a string, as typed or given by its flag. */
export interface Answers {
  host: string;
  payment: 'open-payments' | 'moneyd';
  wallet: string;
  keyId: string;
  privateKey: string;
  acme: 'yes' | 'no';
  acmeEmail: string;
  acmeDns: 'rfc2136' | 'exec';
  rfc2136Server: string;
  rfc2136Zone: string;
  tsigName: string;
  tsigSecret: string;
  tsigAlgorithm: string;
  dnsHook: string;
}

export type AnswerKey = keyof Answers;
export type PartialAnswers = Partial<Record<AnswerKey, string>>;

export interface Question {
  key: AnswerKey;
  /** The flag that answers it without asking (`--host`). */
  flag: string;
  prompt: string;
  /** Asked only when this holds for the answers so far. */
  when?: (answers: PartialAnswers) => boolean;
  /** Offered on a terminal and taken by --yes; none means an answer is needed. */
  defaultOf?: (answers: PartialAnswers) => string | undefined;
  choices?: readonly string[];
  /** The variable whose schema checks the answer (after `toValue`). */
  variable?: string;
  toValue?: (answer: string) => string;
  /** Not echoed while typed, never printed. */
  secret?: boolean;
}

const openPayments = (a: PartialAnswers): boolean => a.payment === 'open-payments';
const acme = (a: PartialAnswers): boolean => a.acme === 'yes';
const rfc2136 = (a: PartialAnswers): boolean => acme(a) && a.acmeDns === 'rfc2136';

/** In the order asked; later questions depend on earlier answers. */
export const QUESTIONS: readonly Question[] = [
  {
    key: 'host',
    flag: '--host',
    prompt: 'Public host name (pods are served at <hash>.<name>)',
    variable: 'CODIUS_PUBLIC_URI',
    toValue: (host) => `https://${host}`,
  },
  {
    key: 'payment',
    flag: '--payment',
    prompt: 'Payment method',
    choices: ['open-payments', 'moneyd'],
    defaultOf: () => 'open-payments',
  },
  {
    key: 'wallet',
    flag: '--wallet',
    prompt: "The host's wallet address (https://…)",
    when: openPayments,
    variable: 'CODIUS_OPEN_PAYMENTS_WALLET',
  },
  {
    key: 'privateKey',
    flag: '--private-key',
    prompt: 'Ed25519 private key file (made now if it does not exist)',
    when: openPayments,
    defaultOf: () => '/etc/codiusd/open-payments.pem',
    variable: 'CODIUS_OPEN_PAYMENTS_PRIVATE_KEY',
  },
  {
    key: 'keyId',
    flag: '--key-id',
    prompt: "The key's id at the wallet's provider (empty: the id a new key is made with)",
    when: openPayments,
    defaultOf: () => '',
    variable: 'CODIUS_OPEN_PAYMENTS_KEY_ID',
  },
  {
    key: 'acme',
    flag: '--acme',
    prompt: "Obtain HTTPS certificates from Let's Encrypt (ACME)",
    choices: ['yes', 'no'],
    defaultOf: () => 'yes',
  },
  {
    key: 'acmeEmail',
    flag: '--acme-email',
    prompt: 'Email address for the ACME account',
    when: acme,
    variable: 'CODIUS_ACME_EMAIL',
  },
  {
    key: 'acmeDns',
    flag: '--acme-dns',
    prompt: 'How the DNS-01 TXT records are published',
    when: acme,
    choices: ['rfc2136', 'exec'],
    defaultOf: () => 'rfc2136',
  },
  {
    key: 'rfc2136Server',
    flag: '--rfc2136-server',
    prompt: 'DNS server taking TSIG-signed updates (host or host:port)',
    when: rfc2136,
    variable: 'CODIUS_ACME_RFC2136_SERVER',
  },
  {
    key: 'rfc2136Zone',
    flag: '--rfc2136-zone',
    prompt: 'Zone the records go in',
    when: rfc2136,
    defaultOf: (a) => a.host,
    variable: 'CODIUS_ACME_RFC2136_ZONE',
  },
  {
    key: 'tsigName',
    flag: '--tsig-name',
    prompt: 'TSIG key name',
    when: rfc2136,
    variable: 'CODIUS_ACME_RFC2136_TSIG_NAME',
  },
  {
    key: 'tsigSecret',
    flag: '--tsig-secret',
    prompt: 'TSIG key secret (base64)',
    when: rfc2136,
    variable: 'CODIUS_ACME_RFC2136_TSIG_SECRET',
    secret: true,
  },
  {
    key: 'tsigAlgorithm',
    flag: '--tsig-algorithm',
    prompt: 'TSIG algorithm',
    when: rfc2136,
    defaultOf: () => 'hmac-sha256',
    variable: 'CODIUS_ACME_RFC2136_TSIG_ALGORITHM',
  },
  {
    key: 'dnsHook',
    flag: '--dns-hook',
    prompt: 'Program that publishes TXT records (run as PROGRAM add|remove NAME VALUE)',
    when: (a) => acme(a) && a.acmeDns === 'exec',
    variable: 'CODIUS_ACME_DNS_HOOK',
  },
];

/** Whether the question applies to these answers. */
export const applies = (question: Question, answers: PartialAnswers): boolean =>
  question.when?.(answers) ?? true;

/** Why `answer` is no good for `question`, or undefined when it is. */
export function answerProblem(question: Question, answer: string): string | undefined {
  if (question.choices && !question.choices.includes(answer)) {
    return `${question.flag} must be ${question.choices.join(' or ')}; got ${JSON.stringify(answer)}`;
  }
  if (
    question.key === 'host' &&
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(answer)
  ) {
    return `${question.flag} must be a DNS name such as codius.example.com; got ${JSON.stringify(answer)}`;
  }
  const spec = VARIABLES.find((variable) => variable.name === question.variable);
  if (!spec || answer === '') return undefined;
  const { error } = spec.schema.validate(question.toValue ? question.toValue(answer) : answer);
  if (!error) return undefined;
  const shown = question.secret ? 'the value given' : JSON.stringify(answer);
  return `${question.flag} must be ${spec.expected}; ${shown} is not`;
}
