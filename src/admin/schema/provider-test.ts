/** `POST /admin/providers/:id/test` `{"model"}`: one short request to one model of a provider. */
import { z } from 'zod';
import { strictDoc } from './common.js';

export const providerTestSchema = strictDoc({
  model: z.string({ error: 'required, the real model name to test' }).trim().min(1, { error: 'required, the real model name to test' }),
});
export type ProviderTestBody = z.input<typeof providerTestSchema>;
