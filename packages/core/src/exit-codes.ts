/**
 * Process exit codes, after Terraform's `-detailed-exitcode`, for every lab command:
 * 0 = success and nothing to change, 1 = error, 2 = success with changes pending or drift found.
 */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Changes: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
