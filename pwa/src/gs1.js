// What a scanned string says, before any lookup: the same reading as the server's parser (server/scan/gs1.py, which
// uses biip), in plain JavaScript, offline, no dependencies. Both pass schemas/scan_vectors.json
// (tests/test_scan.py, tests/test_pwa_scanning.py), and a differential test feeds both the same generated strings.
//
// readScan(raw, gsStandin) -> a reading, or throws ScanError with a stable `code`:
//   empty_scan, too_long, control_character, invalid_symbology, invalid_gs1, bad_check_digit.
// The reading has the server's fields (absent when not set): kind ("gs1" for a GTIN or an element string, EAN/UPC
// included, as the server says; "code" for anything else, in `code`), symbology (the AIM identifier if one was
// sent), gtin (always GTIN-14), content_gtin, sscc, lot, serial, production_date, best_before, expiry (ISO dates; a
// YYMMDD with day 00 is the month's last day), quantity, net_weight_kg (decimal strings), order_number,
// location_gln, gln_extension, elements ({ai: value}, first occurrence of each AI). Besides: `text`, the payload
// without symbology identifier, wedge noise and leading FNC1.
//
// How a string is read (the server's docstring says the same):
// 1. Wedge noise goes (surrounding spaces, CR, LF, TAB); the stand-in for GS becomes GS; any other control character
//    is refused, as are an empty scan and one over 512 characters.
// 2. An AIM identifier (]C1 ]d2 ]Q3 ]e0 ...: a GS1 element string; ]E0 ]E4 ]I1: a GTIN) says what follows. Else
//    the text by its shape: (01)... bracketed; digits only: a GTIN whenever the length is 8, 12, 13 or 14 (a wrong
//    check digit is bad_check_digit, never another reading), else an element string; anything with a GS: an element
//    string; an http(s) link: a GS1 Digital Link when it reads as one; anything else: an internal code.
// 3. A check digit that does not add up anywhere (GTIN, SSCC, GLN) is bad_check_digit; a malformed element string
//    (unknown AI, wrong length, month 13) is invalid_gs1.

export const GS = "\x1d";
export const MAX_SCAN_CHARS = 512; // schemas/scan.py

export class ScanError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "ScanError";
    this.code = code;
    this.details = details;
  }
}

// GS1 Application Identifiers and the pattern of their data, generated from biip's table
// (biip/gs1_application_identifiers/_application_identifiers.json; a test checks they are the same).
// Each row: [pattern after the AI, the AIs that use it]. AIs are prefix-free, so an AI is found by its first 2-4 digits.
const AI_ROWS = [
  ["(\\d{18})", "00 8017 8018"],
  ["(\\d{14})", "01 02 03"],
  ["([!%-?A-Z_a-z\\x22]{1,20})", "10 21 22 243 254 420 4318 7020 7021 7022 710 711 712 713 714 715 716 717 7240 8002 8012"],
  ["(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))", "11 12 13 15 16 17"],
  ["(\\d{2})", "20 7241"],
  ["([!%-?A-Z_a-z\\x22]{1,28})", "235"],
  ["([!%-?A-Z_a-z\\x22]{1,30})", "240 241 250 251 400 401 403 4308 4319 7002 7023 8004 90"],
  ["(\\d{1,6})", "242"],
  ["(\\d{13})([!%-?A-Z_a-z\\x22]{0,17})", "253"],
  ["(\\d{13})(\\d{0,12})", "255"],
  ["(\\d{0,8})", "30"],
  ["(\\d{6})", "3100 3101 3102 3103 3104 3105 3110 3111 3112 3113 3114 3115 3120 3121 3122 3123 3124 3125 3130 3131 3132 3133 3134 3135 3140 3141 3142 3143 3144 3145 3150 3151 3152 3153 3154 3155 3160 3161 3162 3163 3164 3165 3200 3201 3202 3203 3204 3205 3210 3211 3212 3213 3214 3215 3220 3221 3222 3223 3224 3225 3230 3231 3232 3233 3234 3235 3240 3241 3242 3243 3244 3245 3250 3251 3252 3253 3254 3255 3260 3261 3262 3263 3264 3265 3270 3271 3272 3273 3274 3275 3280 3281 3282 3283 3284 3285 3290 3291 3292 3293 3294 3295 3300 3301 3302 3303 3304 3305 3310 3311 3312 3313 3314 3315 3320 3321 3322 3323 3324 3325 3330 3331 3332 3333 3334 3335 3340 3341 3342 3343 3344 3345 3350 3351 3352 3353 3354 3355 3360 3361 3362 3363 3364 3365 3370 3371 3372 3373 3374 3375 3400 3401 3402 3403 3404 3405 3410 3411 3412 3413 3414 3415 3420 3421 3422 3423 3424 3425 3430 3431 3432 3433 3434 3435 3440 3441 3442 3443 3444 3445 3450 3451 3452 3453 3454 3455 3460 3461 3462 3463 3464 3465 3470 3471 3472 3473 3474 3475 3480 3481 3482 3483 3484 3485 3490 3491 3492 3493 3494 3495 3500 3501 3502 3503 3504 3505 3510 3511 3512 3513 3514 3515 3520 3521 3522 3523 3524 3525 3530 3531 3532 3533 3534 3535 3540 3541 3542 3543 3544 3545 3550 3551 3552 3553 3554 3555 3560 3561 3562 3563 3564 3565 3570 3571 3572 3573 3574 3575 3600 3601 3602 3603 3604 3605 3610 3611 3612 3613 3614 3615 3620 3621 3622 3623 3624 3625 3630 3631 3632 3633 3634 3635 3640 3641 3642 3643 3644 3645 3650 3651 3652 3653 3654 3655 3660 3661 3662 3663 3664 3665 3670 3671 3672 3673 3674 3675 3680 3681 3682 3683 3684 3685 3690 3691 3692 3693 3694 3695 3950 3951 3952 3953 3954 3955 4326 7006 8005"],
  ["(\\d{1,8})", "37"],
  ["(\\d{1,15})", "3900 3901 3902 3903 3904 3905 3906 3907 3908 3909 3920 3921 3922 3923 3924 3925 3926 3927 3928 3929"],
  ["(\\d{3})(\\d{1,15})", "3910 3911 3912 3913 3914 3915 3916 3917 3918 3919 3930 3931 3932 3933 3934 3935 3936 3937 3938 3939"],
  ["(\\d{4})", "3940 3941 3942 3943 8111"],
  ["(\\d{17})", "402"],
  ["(\\d{13})", "410 411 412 413 414 415 416 417 7001"],
  ["(\\d{3})([!%-?A-Z_a-z\\x22]{1,9})", "421"],
  ["(\\d{3})", "422 424 426"],
  ["((?:\\d{3}){1,5})", "423 425"],
  ["([!%-?A-Z_a-z\\x22]{1,3})", "427 7008"],
  ["((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,35})", "4300 4301 4310 4311 4320"],
  ["((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,70})", "4302 4303 4304 4305 4306 4312 4313 4314 4315 4316 7257"],
  ["([A-Z0-9]{2})", "4307 4317"],
  ["(\\d{20})", "4309"],
  ["([01])", "4321 4322 4323"],
  ["(\\d{10})", "4324 4325 7003"],
  ["(\\d{6}[-]?)", "4330 4331 4332 4333"],
  ["(\\d{0,4})", "7004"],
  ["([!%-?A-Z_a-z\\x22]{1,12})", "7005"],
  ["(\\d{6})(\\d{6})?", "7007"],
  ["([!%-?A-Z_a-z\\x22]{1,10})", "7009"],
  ["([!%-?A-Z_a-z\\x22]{1,2})", "7010"],
  ["(\\d{6})(\\d{4})?", "7011"],
  ["(\\d{3})([!%-?A-Z_a-z\\x22]{1,27})", "7030 7031 7032 7033 7034 7035 7036 7037 7038 7039"],
  ["(\\d)([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])", "7040"],
  ["([!%-?A-Z_a-z\\x22]{1,4})", "7041"],
  ["([!%-?A-Z_a-z\\x22]{3,30})", "7230 7231 7232 7233 7234 7235 7236 7237 7238 7239"],
  ["([!%-?A-Z_a-z\\x22]{1,25})", "7242 8013 8014 8020"],
  ["(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))", "7250"],
  ["(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3])(?:[0-5]\\d))", "7251"],
  ["(\\d{1})", "7252"],
  ["((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,40})", "7253 7254 7259"],
  ["((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,10})", "7255"],
  ["((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,90})", "7256"],
  ["(\\d[/]\\d)", "7258"],
  ["(\\d{4})(\\d{5})(\\d{3})(\\d{1})(\\d{1})", "8001"],
  ["(0)(\\d{13})([!%-?A-Z_a-z\\x22]{0,16})", "8003"],
  ["(\\d{14})(\\d{4})", "8006 8026"],
  ["([!%-?A-Z_a-z\\x22]{1,34})", "8007"],
  ["(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3]))((?:[0-5]\\d)(?:[0-5]\\d)?)?", "8008"],
  ["([!%-?A-Z_a-z\\x22]{1,50})", "8009"],
  ["([A-Z0-9/#-]{5,30})", "8010"],
  ["(\\d{1,12})", "8011"],
  ["(\\d{1,10})", "8019"],
  ["([0-9A-Za-z_-]{1,90})", "8030"],
  ["(\\d{15})", "8040 8041"],
  ["(\\d{32})", "8042"],
  ["(\\d{18,20})", "8043"],
  ["([!%-?A-Z_a-z\\x22]{1,70})", "8110 8112 8200"],
  ["([!%-?A-Z_a-z\\x22]{1,90})", "91 92 93 94 95 96 97 98 99"],];

export const AI_PATTERNS = {};
for (const [pattern, ais] of AI_ROWS) for (const ai of ais.split(" ")) AI_PATTERNS[ai] = pattern;
const compiled = new Map();
function aiRegex(ai, whole) {
  const key = (whole ? "=" : "^") + ai;
  let regex = compiled.get(key);
  if (!regex) {
    regex = new RegExp(`^${ai}${AI_PATTERNS[ai]}${whole ? "$" : ""}`);
    compiled.set(key, regex);
  }
  return regex;
}

const WEDGE_NOISE = " \t\r\n";
const CONTROL = /[\x00-\x1c\x1e\x1f\x7f]/;
// Python's str.isspace(): str.strip() and str.split() in the server's parser use these.
const PY_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" +
  "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const GTIN_LENGTHS = [8, 12, 13, 14];
const DIGITS = /^[0-9]+$/;
const DATE_AIS = new Set(["11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007", "7011",
  "8008"]);
// AIM symbology identifiers: the ISO code characters, and which of them carry a GS1 message or a GTIN.
const ISO_SYMBOLOGIES = "ABCDEFGHIKLMNOPQRSTUXYZcdeopsz";
const GS1_MESSAGE_SYMBOLOGIES = new Set(["C1", "e0", "d2", "Q3", "J1", "e1", "e2"]);
const GTIN_SYMBOLOGIES = new Set(["E0", "E3", "E4", "I1"]);

function strip(text, chars) {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text[start])) start += 1;
  while (end > start && chars.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

function lstrip(text, chars) {
  let start = 0;
  while (start < text.length && chars.includes(text[start])) start += 1;
  return text.slice(start);
}

const codePoints = (text) => Array.from(text).length;

export function checkDigit(payload) {
  let sum = 0;
  for (let i = payload.length - 1, weight = 3; i >= 0; i -= 1, weight = 4 - weight) sum += Number(payload[i]) * weight;
  return (10 - (sum % 10)) % 10;
}

/** A GTIN-8/12/13/14 with a correct check digit (schemas/masterdata.py gtin_is_valid). */
export function gtinIsValid(digits) {
  return DIGITS.test(digits) && GTIN_LENGTHS.includes(digits.length) &&
    checkDigit(digits.slice(0, -1)) === Number(digits.at(-1));
}

/** (symbology identifier or null, payload) of what a scanner typed. */
export function normalise(raw, gsStandin = null) {
  if (typeof raw !== "string") raw = String(raw ?? "");
  if (codePoints(raw) > MAX_SCAN_CHARS) {
    throw new ScanError("too_long", `A scan is at most ${MAX_SCAN_CHARS} characters`, { max: MAX_SCAN_CHARS });
  }
  // Full-width digits and letters from a wedge scanner behind a Chinese input method: NFKC, as the server does.
  let text = strip(raw.normalize("NFKC"), WEDGE_NOISE);
  let symbology = null;
  if (text.startsWith("]")) {
    symbology = symbologyOf(text);
    text = Array.from(text).slice(codePoints(symbology)).join("");
  }
  if (gsStandin) text = text.split(gsStandin).join(GS);
  const control = CONTROL.exec(text);
  if (control) {
    const hex = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    throw new ScanError("control_character", "The scan holds a control character other than GS",
      { character: `U+${hex}` });
  }
  text = strip(lstrip(text, GS), WEDGE_NOISE);
  if (!text) throw new ScanError("empty_scan", "The scan is empty");
  return [symbology, text];
}

function symbologyOf(text) {
  const chars = Array.from(text);
  const refuse = () => new ScanError("invalid_symbology", `Not a symbology identifier: ${chars.slice(0, 4).join("")}`,
    { prefix: chars.slice(0, 4).join("") });
  const code = chars[1];
  if (code === undefined || !ISO_SYMBOLOGIES.includes(code)) throw refuse();
  let length = 1;
  if (code === "Y") {
    if (chars[2] === undefined || !/^[0-9]$/.test(chars[2])) throw refuse();
    length = Number(chars[2]) + 1;
  }
  return `]${code}${chars.slice(2, 2 + length).join("")}`;
}

export function readScan(raw, gsStandin = null) {
  const [symbology, text] = normalise(raw, gsStandin);
  const gs1 = symbology ? symbology.slice(1) : null;
  const base = { symbology, text };
  if (GTIN_SYMBOLOGIES.has(gs1)) {
    return fromGtin(base, parseGtin(gs1 === "E3" ? Array.from(text).slice(0, 13).join("") : text));
  }
  if (GS1_MESSAGE_SYMBOLOGIES.has(gs1) || text.startsWith("(") || text.includes(GS)) {
    return fromElements(base, message(text));
  }
  if (DIGITS.test(text)) {
    if (GTIN_LENGTHS.includes(text.length)) {
      if (!gtinIsValid(text)) {
        throw new ScanError("bad_check_digit", `${text} is not a GTIN: its check digit is wrong`, { gtin: text });
      }
      return fromGtin(base, parseGtin(text));
    }
    return fromElements(base, message(text));
  }
  if (text.startsWith("https://") || text.startsWith("http://")) {
    let elements = null;
    try {
      elements = digitalLink(text);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
    if (elements) return fromElements(base, checked(elements));
  }
  return reading({ kind: "code", symbology, code: text, text });
}

class ParseError extends Error {}

/** The GTIN-14 of a GTIN-8/12/13/14 (biip's Gtin.parse). */
function parseGtin(digits) {
  const value = strip(digits, PY_SPACE);
  let error = null;
  if (!GTIN_LENGTHS.includes(codePoints(value))) {
    error = ["invalid_gs1", `Failed to parse ${value} as GTIN: Expected 8, 12, 13, or 14 digits, got ${codePoints(value)}.`];
  } else if (!DIGITS.test(value)) {
    error = ["invalid_gs1", `Failed to parse ${value} as GTIN: Expected a numerical value.`];
  } else if (checkDigit(value.slice(0, -1)) !== Number(value.at(-1))) {
    error = ["bad_check_digit", `Invalid GTIN check digit for ${value}: Expected ${checkDigit(value.slice(0, -1))}.`];
  }
  if (error) throw new ScanError(error[0], error[1], { gtin: digits });
  return value.padStart(14, "0");
}

function identifierError(element) {
  const { ai, value } = element;
  const check = (what, lengths) => {
    if (!lengths.includes(value.length)) return `Failed to parse ${value} as ${what}: wrong length`;
    if (!DIGITS.test(value)) return `Failed to parse ${value} as ${what}: Expected a numerical value.`;
    const expected = checkDigit(value.slice(0, -1));
    return expected === Number(value.at(-1)) ? null : `Invalid ${what} check digit for ${value}: Expected ${expected}.`;
  };
  if (ai.startsWith("41")) return check("GLN", [13]);
  if (ai === "01" || ai === "02" || ai === "03") return check("GTIN", GTIN_LENGTHS);
  if (ai === "00") return check("SSCC", [18]);
  return null;
}

function checked(elements) {
  for (const element of elements) {
    const error = identifierError(element);
    if (error) throw new ScanError("bad_check_digit", error, { ai: element.ai, value: element.value });
  }
  return elements;
}

function findAi(text) {
  for (const length of [2, 3, 4]) {
    const ai = text.slice(0, length);
    if (ai.length === length && Object.hasOwn(AI_PATTERNS, ai)) return ai;
  }
  throw new ParseError(`Failed to get GS1 Application Identifier from ${text.slice(0, 10)}.`);
}

/** One element string: the whole of `text` (whole) or its start up to the first GS (biip's parse / extract). */
function elementString(text, whole) {
  const ai = findAi(text);
  const segment = whole ? text : text.split(GS, 1)[0];
  const match = aiRegex(ai, whole).exec(segment);
  if (!match) throw new ParseError(`Failed to match ${segment} with GS1 AI (${ai}) pattern.`);
  const groups = match.slice(1).filter((group) => group !== undefined);
  const element = { ai, value: groups.join(""), groups };
  if (DATE_AIS.has(ai)) {
    element.date = dateOf(element.value);
    if (element.date === null) throw new ParseError(`Failed to parse GS1 AI (${ai}) date/time from ${element.value}.`);
  }
  return element;
}

function century(twoDigitYear) {
  const year = new Date().getUTCFullYear();
  const current = year - (year % 100);
  const difference = twoDigitYear - (year - current);
  if (difference >= 51 && difference <= 99) return current - 100;
  if (difference >= -99 && difference <= -50) return current + 100;
  return current;
}

/** YYMMDD[HH[MM[SS]]] as "YYYY-MM-DD", or null when it is not a date (biip's _parse_date_and_datetime). */
function dateOf(value) {
  const pairs = [];
  for (let i = 0; i < value.length; i += 2) pairs.push(Number(value.slice(i, i + 2)));
  const year = pairs[0] + century(pairs[0]);
  const month = pairs[1];
  let day = pairs[2];
  if (!(month >= 1 && month <= 12)) return null;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day === 0) day = last;
  if (!(day >= 1 && day <= last)) return null;
  if (pairs.length > 3) {
    const [hour, minute = 0, second = 0] = pairs.slice(3);
    if (!(hour === 99 && minute === 99) && (hour > 23 || minute > 59 || second > 59)) return null;
  }
  const pad = (number, width) => String(number).padStart(width, "0");
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** The element strings of a GS1 message, raw (FNC1 as GS) or bracketed (biip's GS1Message.parse / parse_hri). */
function message(text) {
  try {
    return checked(text.startsWith("(") ? bracketed(text) : elementStrings(text));
  } catch (error) {
    if (error instanceof ParseError) throw new ScanError("invalid_gs1", error.message);
    throw error;
  }
}

function elementStrings(text) {
  let rest = strip(text, PY_SPACE);
  const elements = [];
  while (rest) {
    const element = elementString(rest, false);
    elements.push(element);
    rest = lstrip(rest.slice(element.ai.length + element.value.length), GS);
  }
  return elements;
}

function bracketed(text) {
  const hri = Array.from(text).filter((char) => !PY_SPACE.includes(char)).join("");
  if (!hri.startsWith("(")) throw new ParseError(`Expected HRI string ${text} to start with a parenthesis.`);
  const matches = Array.from(hri.matchAll(/\(([0-9]+)\)([^(]+)/g));
  if (!matches.length) throw new ParseError(`Could not find any GS1 Application Identifiers in ${text}.`);
  return matches.map(([, ai, data]) => {
    if (!Object.hasOwn(AI_PATTERNS, ai)) throw new ParseError(`Unknown GS1 Application Identifier ${ai} in ${text}.`);
    return elementString(ai + data, true);
  });
}

// GS1 Digital Link (biip's GS1DigitalLinkURI.parse): primary identifiers, their qualifiers in order, and AIs in the query.
const PRIMARY_IDENTIFIERS = {
  "01": ["22", "10", "21", "235"], "8006": ["22", "10", "21"], "8013": [], "8010": ["8011"], "414": ["254", "7040"],
  "415": ["8020"], "417": ["7040"], "8017": ["8019"], "8018": ["8019"], "255": [], "00": [], "253": [], "401": [],
  "402": [], "8003": [], "8004": ["7040"],
};

/** Python's urllib.parse.unquote: %XX in ASCII runs become UTF-8 bytes; anything else stays. */
function unquote(text) {
  if (!text.includes("%")) return text;
  return text.replace(/[\x00-\x7f]+/g, (run) => {
    if (!run.includes("%")) return run;
    const bytes = [];
    const parts = run.split("%");
    for (const char of parts[0]) bytes.push(char.charCodeAt(0));
    for (const part of parts.slice(1)) {
      if (/^[0-9A-Fa-f]{2}/.test(part)) {
        bytes.push(parseInt(part.slice(0, 2), 16));
        for (const char of part.slice(2)) bytes.push(char.charCodeAt(0));
      } else {
        bytes.push(37);
        for (const char of part) bytes.push(char.charCodeAt(0));
      }
    }
    return new TextDecoder("utf-8").decode(new Uint8Array(bytes));
  });
}

function digitalLink(text) {
  // urlsplit: after scheme:// the netloc runs to the first / ? #; then the fragment, then the query go.
  let rest = text.slice(text.indexOf("://") + 3);
  const end = rest.search(/[/?#]/);
  const netloc = end < 0 ? rest : rest.slice(0, end);
  if (netloc.includes("[") !== netloc.includes("]")) throw new ParseError("Invalid IPv6 URL");
  rest = end < 0 ? "" : rest.slice(end);
  if (rest.includes("#")) rest = rest.slice(0, rest.indexOf("#"));
  let query = "";
  if (rest.includes("?")) [rest, query] = [rest.slice(0, rest.indexOf("?")), rest.slice(rest.indexOf("?") + 1)];
  let parts = rest.split("/");
  while (parts.length && !Object.hasOwn(PRIMARY_IDENTIFIERS, parts[0])) parts.shift();
  if (!parts.length) throw new ParseError("Expected a primary identifier in the path");
  if (parts.length % 2) throw new ParseError("Expected even number of path segments");
  parts = parts.map(unquote);
  const [primary, primaryValue] = parts;
  const elements = [elementString(primary + (primary === "01" ? zfill(primaryValue, 14) : primaryValue), true)];
  const expected = [...PRIMARY_IDENTIFIERS[primary]];
  for (let i = 2; i < parts.length; i += 2) {
    if (!expected.length) throw new ParseError(`Did not expect a qualifier, got ${parts[i]}.`);
    let found = false;
    while (expected.length) {
      if (expected.shift() === parts[i]) {
        found = true;
        break;
      }
    }
    if (!found) throw new ParseError(`Unexpected qualifier ${parts[i]}.`);
    elements.push(elementString(parts[i] + parts[i + 1], true));
  }
  // parse_qs: & separated, blank values and names without "=" dropped, + is a space, the last value of a name wins.
  const params = new Map();
  for (const pair of query ? query.split("&") : []) {
    const cut = pair.indexOf("=");
    if (cut < 0 || cut === pair.length - 1) continue;
    const name = unquote(pair.slice(0, cut).replaceAll("+", " "));
    params.set(name, unquote(pair.slice(cut + 1).replaceAll("+", " ")));
  }
  for (const [name, value] of params) {
    if (Object.hasOwn(AI_PATTERNS, name)) elements.push(elementString(name + value, true));
  }
  return elements;
}

function zfill(text, width) {
  if (text.startsWith("+") || text.startsWith("-")) return text[0] + text.slice(1).padStart(width - 1, "0");
  return text.padStart(width, "0");
}

/** A decimal string as Python's format(Decimal(text), "f") writes it: no leading zeros, trailing ones kept. */
function decimalText(units, decimals = "") {
  const whole = units.replace(/^0+/, "") || "0";
  return decimals ? `${whole}.${decimals}` : whole;
}

/** 310n: net weight in kg with n decimals (the last pattern group). */
function weightOf(element) {
  const value = element.groups.at(-1);
  const cut = value.length - Number(element.ai[3]);
  return decimalText(value.slice(0, cut), value.slice(cut));
}

function reading(fields) {
  const out = {};
  for (const [name, value] of Object.entries(fields)) if (value !== null && value !== undefined) out[name] = value;
  return out;
}

function fromGtin(base, gtin) {
  return reading({ kind: "gs1", symbology: base.symbology, gtin, text: base.text });
}

function fromElements(base, elements) {
  const found = new Map();
  for (const element of elements) if (!found.has(element.ai)) found.set(element.ai, element);
  const value = (ai) => found.get(ai)?.value;
  const weight = Array.from(found.values()).find((element) => element.ai.startsWith("310"));
  const count = value("30") ?? value("37");
  return reading({
    kind: "gs1",
    symbology: base.symbology,
    gtin: found.has("01") ? found.get("01").value.padStart(14, "0") : null,
    content_gtin: found.has("02") ? found.get("02").value.padStart(14, "0") : null,
    sscc: value("00"),
    lot: value("10"),
    serial: value("21"),
    production_date: found.get("11")?.date,
    best_before: found.get("15")?.date,
    expiry: found.get("17")?.date,
    quantity: count === undefined ? null : decimalText(count),
    net_weight_kg: weight ? weightOf(weight) : null,
    order_number: value("400"),
    location_gln: value("414"),
    gln_extension: value("254"),
    elements: Object.fromEntries(Array.from(found, ([ai, element]) => [ai, element.value])),
    text: base.text,
  });
}
