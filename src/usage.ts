/** The command line's help text; the variables follow it (describeVariables). The man page is made from both. */
export const USAGE = `Usage: codiusd [--env-file FILE] [--help] [--version]
       codiusd doctor [--env-file FILE] [--json] [--acme]
       codiusd keygen FILE
       codiusd setup [--env-file FILE] [--yes] [--force] [setup options]

Runs the Codius host daemon, configured by environment variables. \`doctor\` reads the same configuration
and checks the host (directories, secret, store, runtime, firewall, ILP provider, DNS, TLS, proxy
engine, ACME certificates, admin exposure, disk, memory); it exits non-zero when a check fails. With
--acme it also publishes and removes a test DNS-01 record, as certificate orders do. \`keygen\` writes a new Ed25519 private key
for Open Payments to FILE (mode 600, never over an existing file) and prints the public key (JWK) to
register with the wallet's provider, and the lines to add to the configuration. \`setup\` writes the
configuration (/etc/codiusd/codiusd.env) from the answers to a few questions (or their flags), prepares
Podman, runs the doctor and prints what is left to do (DNS records, the key to register, the service to
start); it never replaces a configuration that sets something unless told to.

Options:
  --env-file FILE  read variables from FILE (KEY=value lines); variables already set in the environment win
  --help           show this help
  --version        print the version, and that of the Node.js running it
  --json           (doctor) print the checks as JSON
  --acme           (doctor) dry run of the DNS-01 publication (CODIUS_ACME=true)

Setup options (on a terminal codiusd asks for what is missing; otherwise they are needed):
  --env-file FILE            the configuration to write (default /etc/codiusd/codiusd.env)
  --yes                      ask nothing: take the defaults for what the flags do not give
  --force                    replace a configuration that sets something (a copy is kept as FILE.old)
  --host NAME                the public host name; pods are served at <hash>.NAME
  --payment METHOD           open-payments (a wallet at an account provider) or moneyd
  --wallet URL               (open-payments) the host's wallet address
  --key-id ID                (open-payments) the id the provider gave the registered key
  --private-key FILE         (open-payments) the Ed25519 private key; a new one is made when FILE is missing
  --acme-email EMAIL         certificates from Let's Encrypt, this address on the ACME account
  --no-acme                  no ACME: a TLS proxy in front, or CODIUS_TLS_CERT/KEY set by hand
  --acme-dns METHOD          how TXT records for DNS-01 are published: rfc2136 or exec
  --rfc2136-server HOST      (rfc2136) the DNS server taking the updates, HOST or HOST:PORT
  --rfc2136-zone ZONE        (rfc2136) the zone the records go in (default: the host name)
  --tsig-name NAME           (rfc2136) the TSIG key's name
  --tsig-secret SECRET       (rfc2136) the TSIG key's secret (base64)
  --tsig-algorithm NAME      (rfc2136) hmac-sha256 (default), hmac-sha384, hmac-sha512 or hmac-sha1
  --dns-hook PROGRAM         (exec) the program run as PROGRAM add|remove NAME VALUE
  --no-podman                do not run the Podman setup

Environment variables:
`;
