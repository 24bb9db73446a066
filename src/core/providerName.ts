import { z } from 'zod';

/** The CRMs crm-sync connects to. */
export const providerNames = ['reapit', 'alto', 'street', 'agentos', 'loop'] as const;
export const providerNameSchema = z.enum(providerNames);
export type ProviderName = z.infer<typeof providerNameSchema>;
