/** PINs: the generator, the PIN secrets' names and shape, and Secrets Manager's rotation contract for them. */
export { generatePin } from './generate-pin.ts';
export { formatPinSecret, pinSecretName, STAGE } from './pin-secret.ts';
export { PinRotationError, ROTATION_STEPS, runRotationStep, type RotationDeps, type RotationStepResult } from './rotation.ts';
export { rotateInProcess } from './run-rotation.ts';
export { SecretsManagerPinVault } from './secrets-manager-vault.ts';
export { PinSecretExistsError, versionWith, type PinVault } from './vault.ts';
