import { isPublicAddress } from '../net/address-policy.js';
import type { Answers } from './questions.js';

export interface NextStepsInput {
  answers: Answers;
  /** This machine's addresses that the internet could reach it at. */
  publicAddresses: readonly string[];
  /** The public key of a key made by this setup, to register with the wallet's provider. */
  newPublicKey?: object;
  doctorOk: boolean;
  envFile: string;
}

/** The public unicast addresses among a machine's interface addresses. */
export function publicAddressesOf(addresses: readonly string[]): string[] {
  return addresses.filter((address) => isPublicAddress(address));
}

/** What is left to do after `codiusd setup`, as numbered steps. */
export function nextSteps(input: NextStepsInput): string[] {
  const { answers } = input;
  const steps: string[] = [];
  const addresses = input.publicAddresses.length > 0 ? input.publicAddresses : ['<this server’s address>'];
  const records = addresses.flatMap((address) => {
    const type = address.includes(':') ? 'AAAA' : 'A';
    return [`${answers.host}. ${type} ${address}`, `*.${answers.host}. ${type} ${address}`];
  });
  steps.push(`Create these DNS records (pods are served at <hash>.${answers.host}):\n${indent(records)}`);
  if (answers.acme === 'yes' && answers.acmeDns === 'rfc2136') {
    steps.push(
      `Let the TSIG key ${answers.tsigName} update TXT records at _acme-challenge.${answers.host} in zone ` +
        `${answers.rfc2136Zone} on ${answers.rfc2136Server} (BIND: update-policy { grant ${answers.tsigName} ` +
        `subdomain _acme-challenge.${answers.host}. TXT; };), then check it: codiusd doctor --acme`,
    );
  } else if (answers.acme === 'yes') {
    steps.push(
      `Check that ${answers.dnsHook} publishes and removes TXT records: codiusd doctor --acme (it ` +
        'publishes a test record, waits for every authoritative server and removes it)',
    );
  }
  if (input.newPublicKey) {
    steps.push(
      "Register this public key with your wallet's provider; if it names the key with an id of its own, " +
        `set CODIUS_OPEN_PAYMENTS_KEY_ID to it in ${input.envFile}:\n${indent(JSON.stringify(input.newPublicKey, null, 2).split('\n'))}`,
    );
  }
  if (answers.payment === 'moneyd') {
    steps.push('Run moneyd under systemd before codiusd, listening on localhost:7768 (its default).');
  }
  if (!input.doctorOk) steps.push('Fix what the doctor marked ✗ above, then run: codiusd doctor');
  steps.push(
    'Start the service and follow its log until "self test passed":\n' +
      indent(['systemctl enable --now codiusd', 'journalctl -u codiusd -f']),
  );
  return steps.map((step, index) => `${index + 1}. ${step}`);
}

const indent = (lines: readonly string[]): string => lines.map((line) => `     ${line}`).join('\n');
