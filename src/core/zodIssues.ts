import type { z } from 'zod';

/** Zod issues as `path: message; …`, without the input's values (they may be personal data or secrets). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const message =
        issue.code === 'invalid_type' && /received undefined$/.test(issue.message)
          ? 'required'
          : issue.message;
      return issue.path.length === 0 ? message : `${issue.path.join('.')}: ${message}`;
    })
    .join('; ');
}
