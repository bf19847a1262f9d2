/**
 * `SessionCapDO`: the caps a dropped cookie cannot escape. One object per client address counts the sessions
 * started from it (`MAX_SESSIONS_PER_IP`; an IPv4 address, or an IPv6 /64: worker/client-ip.ts), and one
 * object, {@link TOTAL_CAP_NAME}, counts every session of the deployment (`MAX_SESSIONS_TOTAL`), so that a
 * script cannot hold the whole agent fleet. The counting is the shared {@link CappedReservations}.
 *
 * Every session start calls the total object, so it is the one place all starts meet: it answers in
 * milliseconds, far above the rate of session starts, but from one location (see docs/edge.md).
 * See docs/architecture.md, "Security model".
 */
import { CappedReservations } from "./capped-reservations.ts";

export class SessionCapDO extends CappedReservations {}

/** Name of the object that counts every session of the deployment. */
export const TOTAL_CAP_NAME = "total";

/** The id of the object that counts the sessions of client address key `ipKey` (`clientIpKey` of worker/client-ip.ts). */
export function ipCapId(env: Env, ipKey: string): DurableObjectId {
  return env.SESSION_CAPS.idFromName(`ip:${ipKey}`);
}

/** The object that counts the sessions of client address key `ipKey`. */
export function ipCapStub(env: Env, ipKey: string) {
  return env.SESSION_CAPS.get(ipCapId(env, ipKey));
}

/**
 * The per-address object by the id string a session stores (`DurableObjectId.toString()`), so that a session
 * can release its slot without keeping the address itself.
 * @throws TypeError when `id` is not an id of this namespace
 */
export function ipCapStubById(env: Env, id: string) {
  return env.SESSION_CAPS.get(env.SESSION_CAPS.idFromString(id));
}

/** The object that counts every session of the deployment. */
export function totalCapStub(env: Env) {
  return env.SESSION_CAPS.get(env.SESSION_CAPS.idFromName(TOTAL_CAP_NAME));
}
