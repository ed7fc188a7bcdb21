/** `POST /admin/login` and `POST /admin/password`: `{"password"}`. */
import { z } from 'zod';
import { says, strictDoc } from './common.js';

/** A login or password body. A missing, null or empty password is left to the route ("password required"). */
export const passwordBodySchema = strictDoc({ password: z.string(says('must be a string')).nullable().optional() });
export type PasswordBody = { password: string };
