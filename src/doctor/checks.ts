import type { Check } from './check.js';
import { CAPACITY_CHECKS, HOST_CHECKS } from './checks-host.js';
import { HTTPS_CHECKS } from './checks-https.js';
import { NETWORK_CHECKS } from './checks-network.js';
import { SERVICE_CHECKS } from './checks-services.js';

export type { Check, CheckResult, CheckStatus } from './check.js';

/** Every check, in the order the doctor runs and prints them. */
export const CHECKS: readonly Check[] = [
  ...HOST_CHECKS,
  ...SERVICE_CHECKS,
  ...NETWORK_CHECKS,
  ...HTTPS_CHECKS,
  ...CAPACITY_CHECKS,
];
