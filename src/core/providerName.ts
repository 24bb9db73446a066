import { z } from 'zod';

/** The CRMs crm-sync connects to. */
export const providerNames = ['reapit', 'alto', 'street', 'agentos', 'loop'] as const;
export const providerNameSchema = z.enum(providerNames);
export type ProviderName = z.infer<typeof providerNameSchema>;

/** How each CRM spells its own name, for messages people read. */
export const providerLabels: Readonly<Record<ProviderName, string>> = {
  reapit: 'Reapit',
  alto: 'Alto',
  street: 'Street',
  agentos: 'agentOS',
  loop: 'Loop',
};
