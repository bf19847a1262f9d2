/**
 * The stand-in LLM's date reader: finds the first date and the first time of day in an English sentence
 * ("tomorrow at 9", "on Friday at 9:30 pm", "3 December", "by June") and turns them into ISO 8601 strings in the
 * visitor's time zone. Deterministic rules, no model; see docs/agent.md ("The local OpenAI-compatible provider").
 *
 * "Now" comes from the line the agent appends to the system prompt (contract/profile.ts `localTimeLine`, read back
 * with `LOCAL_TIME_LINE`): its wall-clock time, its UTC offset and its IANA zone. Results carry the zone's offset at
 * the resulting local time (so a date across a daylight-saving change gets that day's offset); an unknown zone keeps
 * the line's offset.
 */
import { LOCAL_TIME_LINE, zoneOffsetAt } from "../../contract/profile.ts";

/** The visitor's "now": local wall-clock fields, the UTC offset in minutes (east positive) and the zone. */
export interface LocalNow {
  /** Local calendar date and time, as on the visitor's clock. */
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** UTC offset of that local time, minutes east of UTC (e.g. 60 for +01:00). */
  offsetMinutes: number;
  /** IANA zone name from the line, or "UTC". */
  zone: string;
}

/** A local calendar date. */
export interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}

/** A local time of day. */
export interface LocalTime {
  hour: number; // 0-23
  minute: number;
}

/** What {@link findWhen} found: a date and/or a time, and the spans of text that said so. */
export interface When {
  /** The date, when the text names one (or when a time or "in 2 hours" implies one). */
  date?: LocalDate;
  /** The time of day, when the text names one (an explicit time or a part of the day). */
  time?: LocalTime;
  /** `[start, end)` character spans of the expressions, each including a preposition before it ("to Friday"). */
  spans: [number, number][];
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const MONTH_ABBR = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec";
const MONTH = `(${MONTHS.join("|")}|${MONTH_ABBR})\\.?`;
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  twelve: 12,
};
/** Prepositions that belong to a date expression when they stand right before it ("move it to Friday"). */
const LEAD = /(?:\b(?:on|at|by|to|for|until|till|before|from|due|in|around|about)\s+)+$/i;

/** Parses a `localTimeLine` date-time with offset ("2026-12-01T12:40:05+01:00") and a zone into a {@link LocalNow}. */
export function parseLocalNow(isoWithOffset: string, zone: string): LocalNow | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/.exec(isoWithOffset);
  if (!m) return undefined;
  const sign = m[7] === "-" ? -1 : 1;
  return {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
    offsetMinutes: sign * (Number(m[8]) * 60 + Number(m[9])),
    zone,
  };
}

/**
 * The visitor's "now" from the first text that holds the `localTimeLine` (the agent puts it in the system prompt).
 * @param texts message texts to search, e.g. the system messages
 * @param fallback the instant to use when no text holds the line; read as UTC
 */
export function localNowFrom(texts: string[], fallback: Date = new Date()): LocalNow {
  for (const t of texts) {
    const m = LOCAL_TIME_LINE.exec(t);
    const now = m ? parseLocalNow(m[1]!, m[2]!) : undefined;
    if (now) return now;
  }
  return {
    year: fallback.getUTCFullYear(),
    month: fallback.getUTCMonth() + 1,
    day: fallback.getUTCDate(),
    hour: fallback.getUTCHours(),
    minute: fallback.getUTCMinutes(),
    second: fallback.getUTCSeconds(),
    offsetMinutes: 0,
    zone: "UTC",
  };
}

/** Days since the epoch of a calendar date (proleptic Gregorian, no zone). */
function dayNumber(d: LocalDate): number {
  return Math.floor(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000);
}

function fromDayNumber(n: number): LocalDate {
  const t = new Date(n * 86_400_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** `d` plus `days` calendar days. */
export function addDays(d: LocalDate, days: number): LocalDate {
  return fromDayNumber(dayNumber(d) + days);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(d: LocalDate): number {
  return (dayNumber(d) + 4) % 7; // 1970-01-01 was a Thursday
}

function validDate(year: number, month: number, day: number): LocalDate | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const d = fromDayNumber(dayNumber({ year, month, day }));
  return d.month === month && d.day === day ? d : undefined;
}

function firstOfNextMonth(d: LocalDate): LocalDate {
  return d.month === 12 ? { year: d.year + 1, month: 1, day: 1 } : { year: d.year, month: d.month + 1, day: 1 };
}

function monthIndex(word: string): number {
  const w = word.toLowerCase().replace(/\.$/, "");
  const i = MONTHS.findIndex((m) => m === w || m.startsWith(w));
  return i + 1;
}

/** The next date on or after `today` with this month and day (this year, else next year). */
function nextMonthDay(today: LocalDate, month: number, day: number, year?: number): LocalDate | undefined {
  if (year !== undefined) return validDate(year, month, day);
  const thisYear = validDate(today.year, month, day);
  if (thisYear && dayNumber(thisYear) >= dayNumber(today)) return thisYear;
  return validDate(today.year + 1, month, day);
}

interface Found<T> {
  value: T;
  start: number;
  end: number;
  /** A part of the day ("evening") that makes "at 7" mean 19:00. */
  pm?: boolean;
  /** The default time a date word implies ("tonight" → 20:00). */
  defaultTime?: LocalTime;
}

type DateRule = {
  re: RegExp;
  read: (m: RegExpExecArray, today: LocalDate, now: LocalNow) => Found<LocalDate> | undefined;
};

const PART_OF_DAY: Record<string, LocalTime> = {
  morning: { hour: 9, minute: 0 },
  afternoon: { hour: 15, minute: 0 },
  evening: { hour: 19, minute: 0 },
  night: { hour: 20, minute: 0 },
};

/** The first month of each season (northern meteorological seasons). */
const SEASON_START: Record<string, number> = { spring: 3, summer: 6, autumn: 9, fall: 9, winter: 12 };

const at = (m: RegExpExecArray) => ({ start: m.index, end: m.index + m[0].length });

/** Date expressions, most specific first; the earliest match in the text wins. */
const DATE_RULES: DateRule[] = [
  {
    re: /\b(\d{4})-(\d{2})-(\d{2})\b/gi,
    read: (m) => {
      const d = validDate(Number(m[1]), Number(m[2]), Number(m[3]));
      return d && { value: d, ...at(m) };
    },
  },
  {
    re: /\b(?:the\s+)?day\s+after\s+tomorrow\b/gi,
    read: (m, today) => ({ value: addDays(today, 2), ...at(m) }),
  },
  {
    re: /\b(today|tonight|tomorrow)(?:\s+(morning|afternoon|evening|night))?\b/gi,
    read: (m, today) => {
      const word = m[1]!.toLowerCase();
      const part = m[2]?.toLowerCase() ?? (word === "tonight" ? "night" : undefined);
      return {
        value: word === "tomorrow" ? addDays(today, 1) : today,
        ...at(m),
        pm: part !== undefined && part !== "morning",
        defaultTime: part ? PART_OF_DAY[part] : undefined,
      };
    },
  },
  {
    re: new RegExp(`\\b${MONTH}\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4})\\b)?`, "gi"),
    read: (m, today) => {
      const d = nextMonthDay(today, monthIndex(m[1]!), Number(m[2]), m[3] ? Number(m[3]) : undefined);
      return d && { value: d, ...at(m) };
    },
  },
  {
    re: new RegExp(`\\b(?:the\\s+)?(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH}(?:,?\\s+(\\d{4})\\b)?`, "gi"),
    read: (m, today) => {
      const d = nextMonthDay(today, monthIndex(m[2]!), Number(m[1]), m[3] ? Number(m[3]) : undefined);
      return d && { value: d, ...at(m) };
    },
  },
  {
    re: new RegExp(
      `\\b(?:(this|next|coming)\\s+)?(${WEEKDAYS.join("|")})(?:\\s+(morning|afternoon|evening|night))?\\b`,
      "gi",
    ),
    read: (m, today) => {
      const target = WEEKDAYS.indexOf(m[2]!.toLowerCase());
      let ahead = (target - weekday(today) + 7) % 7;
      // "Friday" on a Friday means next week's; "this Friday" on a Friday means today.
      if (ahead === 0 && m[1]?.toLowerCase() !== "this") ahead = 7;
      const part = m[3]?.toLowerCase();
      return {
        value: addDays(today, ahead),
        ...at(m),
        pm: part !== undefined && part !== "morning",
        defaultTime: part ? PART_OF_DAY[part] : undefined,
      };
    },
  },
  {
    re: /\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(week|month|year)|this\s+(year|weekend)|(?:the\s+)?weekend)\b/gi,
    read: (m, today) => {
      const unit = (m[1] ?? m[2] ?? "weekend").toLowerCase();
      let value: LocalDate;
      if (unit === "week")
        value = addDays(today, (7 - weekday(today)) % 7); // the coming Sunday
      else if (unit === "month") value = addDays(firstOfNextMonth(today), -1);
      else if (unit === "year") value = { year: today.year, month: 12, day: 31 };
      else value = addDays(today, (6 - weekday(today) + 7) % 7); // the coming Saturday
      return { value, ...at(m) };
    },
  },
  {
    re: /\bnext\s+(week|month|year)\b/gi,
    read: (m, today) => {
      const unit = m[1]!.toLowerCase();
      let value: LocalDate;
      if (unit === "week")
        value = addDays(today, (8 - weekday(today)) % 7 || 7); // next Monday
      else if (unit === "month") value = firstOfNextMonth(today);
      else value = { year: today.year + 1, month: 1, day: 1 };
      return { value, ...at(m) };
    },
  },
  {
    re: /\bin\s+(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(day|week|month|hour|minute)s?\b/gi,
    read: (m, today, now) => {
      const n = NUMBER_WORDS[m[1]!.toLowerCase()] ?? Number(m[1]);
      const unit = m[2]!.toLowerCase();
      if (unit === "day") return { value: addDays(today, n), ...at(m) };
      if (unit === "week") return { value: addDays(today, 7 * n), ...at(m) };
      if (unit === "month") {
        const months = today.month - 1 + n;
        const year = today.year + Math.floor(months / 12);
        const month = (months % 12) + 1;
        const last = addDays(firstOfNextMonth({ year, month, day: 1 }), -1);
        return { value: { year, month, day: Math.min(today.day, last.day) }, ...at(m) };
      }
      const minutes = now.hour * 60 + now.minute + n * (unit === "hour" ? 60 : 1);
      const wrapped = ((minutes % 1440) + 1440) % 1440;
      return {
        value: addDays(today, Math.floor(minutes / 1440)),
        ...at(m),
        defaultTime: { hour: Math.floor(wrapped / 60), minute: wrapped % 60 },
      };
    },
  },
  {
    // Seasons, as the northern hemisphere's meteorological ones: spring March-May, summer June-August, autumn/fall
    // September-November, winter December-February ("fall" only after a word such as "by" or "this": it is also a
    // verb). The season not yet over: its first day (today once it has
    // begun), or its last day after "end of".
    re: /\b(?:(?:the\s+)?(end|start|beginning)\s+of\s+(?:the\s+)?)?(?:(?:this|next|coming)\s+)?(spring|summer|autumn|winter|(?<=\b(?:this|next|coming|the|in|by|of|until|before)\s+)fall)\b/gi,
    read: (m, today) => {
      const first = SEASON_START[m[2]!.toLowerCase()]!;
      let start: LocalDate = { year: today.year - (first === 12 ? 1 : 0), month: first, day: 1 };
      let end = addDays(
        firstOfNextMonth({ year: start.year + (first === 12 ? 1 : 0), month: ((first + 1) % 12) + 1, day: 1 }),
        -1,
      );
      if (dayNumber(end) < dayNumber(today)) {
        start = { ...start, year: start.year + 1 };
        end = { ...end, year: end.year + 1 };
        end = addDays(firstOfNextMonth({ ...end, day: 1 }), -1); // 28 or 29 February
      }
      const value = m[1]?.toLowerCase() === "end" ? end : dayNumber(start) < dayNumber(today) ? today : start;
      return { value, ...at(m) };
    },
  },
  {
    // A month alone needs a preposition ("by June", "in March 2027"): "may" is also a verb.
    re: new RegExp(`\\b(?:in|by|until|till|before|for)\\s+(${MONTHS.join("|")})(?:\\s+(\\d{4}))?\\b`, "gi"),
    read: (m, today) => {
      const month = monthIndex(m[1]!);
      const year = m[2] ? Number(m[2]) : month >= today.month ? today.year : today.year + 1;
      return { value: { year, month, day: 1 }, ...at(m) };
    },
  },
];

type TimeRule = { re: RegExp; read: (m: RegExpExecArray) => Found<LocalTime & { explicitHalf: boolean }> | undefined };

const TIME_RULES: TimeRule[] = [
  {
    re: /\b(?:at\s+)?(noon|midday|midnight)\b/gi,
    read: (m) => ({
      value: { hour: m[1]!.toLowerCase() === "midnight" ? 0 : 12, minute: 0, explicitHalf: true },
      ...at(m),
    }),
  },
  {
    // "at 9", "at 9am", "at 9:30 pm", "at 14:00", "at 9 o'clock"; also "9am" and "9:30" without "at"
    re: /\b(?:at\s+(\d{1,2})(?:[:.](\d{2}))?|(\d{1,2})(?:[:.](\d{2}))?(?=\s*(?:a\.?m\.?|p\.?m\.?)(?![a-z]))|(\d{1,2}):(\d{2}))(?:\s*o'?clock)?(?:\s*(a\.?m\.?|p\.?m\.?)(?![a-z]))?/gi,
    read: (m) => {
      const hour = Number(m[1] ?? m[3] ?? m[5]);
      const minute = Number(m[2] ?? m[4] ?? m[6] ?? 0);
      const half = m[7]?.toLowerCase().replace(/\./g, "");
      if (minute > 59 || hour > 23 || (half && (hour < 1 || hour > 12))) return undefined;
      const h = half === "pm" ? (hour % 12) + 12 : half === "am" ? hour % 12 : hour;
      return { value: { hour: h, minute, explicitHalf: half !== undefined || hour === 0 || hour > 12 }, ...at(m) };
    },
  },
  {
    re: /\b(?:in\s+the|this)\s+(morning|afternoon|evening)\b/gi,
    read: (m) => {
      const part = m[1]!.toLowerCase();
      return { value: { ...PART_OF_DAY[part]!, explicitHalf: false }, ...at(m), pm: part !== "morning" };
    },
  },
];

function firstMatch<T>(
  text: string,
  rules: { re: RegExp; read: (m: RegExpExecArray) => Found<T> | undefined }[],
  taken: [number, number][] = [],
): Found<T> | undefined {
  let best: Found<T> | undefined;
  for (const rule of rules) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
      if (taken.some(([s, e]) => m!.index < e && m!.index + m![0].length > s)) continue;
      const found = rule.read(m);
      if (found && (!best || found.start < best.start)) best = found;
      if (found) break;
    }
  }
  return best;
}

/** Extends a span back over prepositions that introduce it ("to Friday", "due tomorrow"). */
function withLead(text: string, start: number, end: number): [number, number] {
  const lead = LEAD.exec(text.slice(0, start));
  return [lead ? lead.index : start, end];
}

/**
 * Finds the first date expression and the first time of day in `text`.
 *
 * Dates: ISO `2026-12-03`, today, tonight, tomorrow (+ morning/afternoon/evening/night), the day after tomorrow,
 * weekday names ("Friday", "on Friday", "this Friday", "next Friday": the next such day after today, today only for
 * "this <today>"), "December 3", "Dec 3rd, 2027", "3 December", "the 3rd of December" (this year, or next year when
 * that day has passed), "by June" / "in June" (the 1st of the next such month), "next week" (next Monday), "next
 * month" / "next year" (its 1st day), "the end of the week/month/year", "this weekend" (Saturday), "in 3 days /
 * 2 weeks / a month / 2 hours / 30 minutes", seasons ("by summer": the first day of the season not yet over, today
 * once it has begun; "by the end of summer": its last day; northern meteorological seasons).
 * Times: "at 9", "at 9am", "at 9:30 pm", "at 14:00", "9am", "14:30", "noon", "midnight", "in the morning" (09:00),
 * "afternoon" (15:00), "evening" (19:00), "tonight" (20:00). Without am/pm, hours 1-6 are afternoon hours
 * (13:00-18:00), and any hour below 12 is pm after "evening", "afternoon" or "tonight".
 * @returns undefined when the text names neither a date nor a time
 */
export function findWhen(text: string, now: LocalNow): When | undefined {
  const today: LocalDate = { year: now.year, month: now.month, day: now.day };
  const dateRules = DATE_RULES.map((r) => ({ re: r.re, read: (m: RegExpExecArray) => r.read(m, today, now) }));
  const date = firstMatch(text, dateRules);
  const taken: [number, number][] = date ? [[date.start, date.end]] : [];
  const time = firstMatch(text, TIME_RULES, taken);
  if (!date && !time) return undefined;
  const spans: [number, number][] = [];
  if (date) spans.push(withLead(text, date.start, date.end));
  if (time) spans.push(withLead(text, time.start, time.end));
  let clock: LocalTime | undefined;
  if (time) {
    let hour = time.value.hour;
    const pm = date?.pm || time.pm;
    if (!time.value.explicitHalf && hour < 12 && (pm || (hour >= 1 && hour <= 6))) hour += 12;
    clock = { hour, minute: time.value.minute };
  } else if (date?.defaultTime) clock = date.defaultTime;
  let day = date?.value;
  if (!day && clock) {
    // A time alone means its next occurrence: today if still ahead, else tomorrow.
    const ahead = clock.hour * 60 + clock.minute > now.hour * 60 + now.minute;
    day = ahead ? today : addDays(today, 1);
  }
  return { date: day, time: clock, spans: spans.sort((a, b) => a[0] - b[0]) };
}

/** The offset in force at a local wall-clock time in `now`'s zone (the line's own offset if the zone is unknown). */
function offsetFor(now: LocalNow, date: LocalDate, time: LocalTime): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute);
  const first = zoneOffsetAt(now.zone, wall - now.offsetMinutes * 60_000);
  if (first === undefined) return now.offsetMinutes;
  return zoneOffsetAt(now.zone, wall - first * 60_000) ?? first;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `+01:00` for 60 minutes, `-05:30` for -330. */
export function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `2026-12-03`. */
export function formatDate(d: LocalDate): string {
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

/** Default time of day for a date-time when the text names only a date: 09:00 (today after 09:00: the next hour). */
export const DEFAULT_TIME: LocalTime = { hour: 9, minute: 0 };

/**
 * Renders what {@link findWhen} found for a JSON Schema string `format`.
 * @param format `date-time` → `2026-12-02T09:00:00+01:00` (the zone's offset on that day; 09:00 when only a date was
 *   said; for today after 09:00 the next full hour), `date` → `2026-12-02`, `time` → `09:00:00` (only when a time was said)
 * @returns undefined when the text lacks what the format needs
 */
export function renderWhen(when: When, format: "date-time" | "date" | "time", now: LocalNow): string | undefined {
  if (format === "time") return when.time ? `${pad(when.time.hour)}:${pad(when.time.minute)}:00` : undefined;
  if (!when.date) return undefined;
  if (format === "date") return formatDate(when.date);
  let time = when.time ?? DEFAULT_TIME;
  if (!when.time && dayNumber(when.date) === dayNumber(now) && now.hour >= DEFAULT_TIME.hour) {
    // "today" said after 09:00: the next full hour, not a time already past
    time = { hour: Math.min(now.hour + 1, 23), minute: now.hour === 23 ? 59 : 0 };
  }
  const offset = offsetFor(now, when.date, time);
  return `${formatDate(when.date)}T${pad(time.hour)}:${pad(time.minute)}:00${formatOffset(offset)}`;
}

/**
 * Speaks an ISO date or date-time back in words: "today at 09:00", "tomorrow at 09:00", "Friday 4 December at
 * 10:00", "3 June 2027" (the wall-clock time written in the string; the year only when it is not `now`'s).
 * @returns the input unchanged when it is not ISO 8601
 */
export function speakWhen(iso: string, now: LocalNow): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso);
  if (!m) return iso;
  const d: LocalDate = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const diff = dayNumber(d) - dayNumber(now);
  const name = WEEKDAYS[weekday(d)]!;
  const title = (w: string) => w[0]!.toUpperCase() + w.slice(1);
  const day =
    diff === 0
      ? "today"
      : diff === 1
        ? "tomorrow"
        : `${title(name)} ${d.day} ${title(MONTHS[d.month - 1]!)}${d.year === now.year ? "" : ` ${d.year}`}`;
  return m[4] ? `${day} at ${m[4]}:${m[5]}` : day;
}
