/**
 * Imported first by the benchmarks whose visitors are @livekit/rtc-node participants: rtc-node logs at debug level
 * unless `NODE_ENV=production` (its `src/log.ts`, read when it is first imported), and its lines would bury the
 * figures. ES modules are evaluated in import order, so this runs before rtc-node is loaded.
 */
process.env.NODE_ENV ??= "production";
