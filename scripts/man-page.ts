/**
 * Prints codiusd(8) in roff, made from `codiusd --help`'s text and the variable catalogue, so that the
 * man page and --help cannot disagree. The date is SOURCE_DATE_EPOCH's (reproducible packages).
 * Usage: node dist/scripts/man-page.js <version>
 */
import { VARIABLES } from '../src/config/variables.js';
import { defaultTextOf } from '../src/config/variable-spec.js';
import { USAGE } from '../src/usage.js';

/** Text as roff shows it literally: backslashes escaped, no line taken for a request. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** The paragraph of USAGE between its synopsis and "Options:", and the option blocks after it. */
function usageParts(): { synopsis: string[]; description: string; options: string } {
  const lines = USAGE.split('\n');
  const blank = lines.indexOf('');
  const optionsAt = lines.indexOf('Options:');
  const synopsis = lines.slice(0, blank).map((line) => line.replace(/^(Usage:)?\s+/, ''));
  const description = lines
    .slice(blank + 1, optionsAt)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const options = lines
    .slice(optionsAt + 1)
    .join('\n')
    .replace(/\n*Environment variables:\n*$/, '');
  return { synopsis, description, options };
}

const version = process.argv[2] ?? 'unknown';
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
const date = new Date(epoch * 1000).toISOString().slice(0, 10);
const { synopsis, description, options } = usageParts();

const page = [
  `.TH CODIUSD 8 "${date}" "codiusd ${version}" "System Administration"`,
  '.SH NAME',
  'codiusd \\- Codius host daemon: run containers for anyone, paid over Interledger',
  '.SH SYNOPSIS',
  '.nf',
  ...synopsis.map(roff),
  '.fi',
  '.SH DESCRIPTION',
  roff(description),
  '.SH OPTIONS',
  '.nf',
  roff(options),
  '.fi',
  '.SH ENVIRONMENT',
  'The service reads its variables from',
  '.IR /etc/codiusd/codiusd.env ;',
  'variables set in the environment take precedence over',
  '.BR \\-\\-env\\-file .',
  ...VARIABLES.flatMap((variable) => [
    '.TP',
    `.B ${roff(variable.name)}`,
    roff(variable.description),
    `Expected: ${roff(variable.expected)}. Default: ${roff(defaultTextOf(variable))}.`,
  ]),
  '.SH FILES',
  '.TP',
  '.I /etc/codiusd/codiusd.env',
  'The configuration, written by \\fBcodiusd setup\\fR (mode 600: it holds secrets).',
  '.TP',
  '.I /var/lib/codiusd',
  'The data directory (mode 700): the store with pods and the payment ledger, the host secret, certificates.',
  '.TP',
  '.I /lib/systemd/system/codiusd.service',
  'The systemd unit; \\fBjournalctl \\-u codiusd\\fR shows the log.',
  '.SH EXIT STATUS',
  '0 after a clean shutdown; 1 when start\\-up fails; 2 for bad arguments; 78 for a bad configuration.',
  '.SH SEE ALSO',
  '.BR podman (1),',
  '.BR haproxy (1),',
  '.BR systemctl (1)',
  '',
].join('\n');
process.stdout.write(page);
