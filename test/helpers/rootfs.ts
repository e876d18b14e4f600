/**
 * Copies a binary of this machine and every shared library it loads into a root filesystem: the same code
 * that builds the self test's image, which test images are built with too.
 */
export { copyWithLibraries } from '../../src/self-test/image.js';
