/** Errors every runtime driver raises, so the lifecycle and HTTP layers need not know which runtime runs. */

/** Nothing answers on the runtime's socket: the runtime is down or not installed. */
export class RuntimeUnavailableError extends Error {
  constructor(detail: string, options?: ErrorOptions) {
    super(`container runtime unavailable (${detail})`, options);
    this.name = 'RuntimeUnavailableError';
  }
}

/** The runtime answered, but not with success. `status` is the HTTP status (0 when none was received). */
export class RuntimeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RuntimeApiError';
  }
}

/** A manifest's image cannot be had: wrong reference, missing from its registry, or the pull timed out. */
export class ImageUnavailableError extends Error {
  constructor(
    readonly image: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`image ${image} is not available: ${reason}`, options);
    this.name = 'ImageUnavailableError';
  }
}

/** A container of a pod that had just started stopped again: its command failed or it exited at once. */
export class ContainerExitedError extends Error {
  constructor(
    readonly container: string,
    readonly exitCode: number | null,
    options?: ErrorOptions,
  ) {
    super(
      `container ${container} exited${exitCode === null ? '' : ` with code ${exitCode}`} right after it started`,
      options,
    );
    this.name = 'ContainerExitedError';
  }
}
