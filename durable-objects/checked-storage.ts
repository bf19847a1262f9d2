/**
 * Reading Durable Object KV storage with a check: `storage.get<T>` is only a cast, so what comes back
 * is parsed with a schema, and a value that does not match is a real fault (a bug or a storage format
 * change without migration), never silently used.
 */
import * as z from "zod/mini";

/**
 * Reads `key` and checks it against `schema`.
 * @returns the value, or undefined when the key is not set
 * @throws Error naming the key and the first field at fault, e.g. `stored "room" is malformed at
 *   activeSession.expiresAt: Invalid input: expected number, received string`
 */
export async function getChecked<S extends z.ZodMiniType>(
  storage: DurableObjectStorage,
  key: string,
  schema: S,
): Promise<z.infer<S> | undefined> {
  const value = await storage.get(key);
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(top level)";
  throw new Error(`stored "${key}" is malformed at ${where}: ${issue?.message ?? "invalid"}`);
}
