import { makeEUInformation } from 'node-opcua';

/**
 * Engineering units as OPC-UA `EUInformation` (OPC 10000-8, 5.6.3): the unit id is the UN/CEFACT
 * Recommendation 20 common code packed into an Int32 (`makeEUInformation` does the packing) and the
 * namespace URI is the UN/CEFACT one. The display name is the plant's own unit string, unchanged,
 * so a client that reads `EngineeringUnits.displayName` gets back exactly what the simulator uses
 * (`rpm`, not Rec 20's `r/min`).
 */

export type EUInformation = ReturnType<typeof makeEUInformation>;

/** Namespace of the units Rec 20 has no code for; their unit id is -1, as Part 8 prescribes. */
export const CUSTOM_UNITS_URI = 'urn:millwright:units';

/** Unit string as written in the machine models → [Rec 20 common code, Rec 20 name]. */
const REC20: Readonly<Record<string, readonly [string, string]>> = {
  // temperature
  '°C': ['CEL', 'degree Celsius'],
  K: ['KEL', 'kelvin'],
  '°F': ['FAH', 'degree Fahrenheit'],
  // pressure
  bar: ['BAR', 'bar [unit of pressure]'],
  mbar: ['MBR', 'millibar'],
  Pa: ['PAL', 'pascal'],
  kPa: ['KPA', 'kilopascal'],
  MPa: ['MPA', 'megapascal'],
  psi: ['PS', 'pound-force per square inch'],
  // vibration, motion
  'mm/s': ['C16', 'millimetre per second'],
  'm/s': ['MTS', 'metre per second'],
  'm/s²': ['MSK', 'metre per second squared'],
  µm: ['4H', 'micrometre (micron)'],
  mm: ['MMT', 'millimetre'],
  m: ['MTR', 'metre'],
  // electrical
  A: ['AMP', 'ampere'],
  mA: ['4K', 'milliampere'],
  V: ['VLT', 'volt'],
  W: ['WTT', 'watt'],
  kW: ['KWT', 'kilowatt'],
  kWh: ['KWH', 'kilowatt hour'],
  Wh: ['WHR', 'watt hour'],
  MWh: ['MWH', 'megawatt hour (1000 kW.h)'],
  // flow
  'm³/h': ['MQH', 'cubic metre per hour'],
  'm³/s': ['MQS', 'cubic metre per second'],
  'l/min': ['L2', 'litre per minute'],
  'L/min': ['L2', 'litre per minute'],
  'l/h': ['E32', 'litre per hour'],
  // rotation, rates
  rpm: ['RPM', 'revolutions per minute'],
  '1/min': ['C94', 'reciprocal minute'],
  '1/s': ['C97', 'reciprocal second'],
  Hz: ['HTZ', 'hertz'],
  // mechanical
  N: ['NEW', 'newton'],
  kN: ['B47', 'kilonewton'],
  'N·m': ['NU', 'newton metre'],
  Nm: ['NU', 'newton metre'],
  kg: ['KGM', 'kilogram'],
  t: ['TNE', 'tonne (metric ton)'],
  // time
  s: ['SEC', 'second [unit of time]'],
  ms: ['C26', 'millisecond'],
  min: ['MIN', 'minute [unit of time]'],
  h: ['HUR', 'hour'],
  // counts and ratios
  '%': ['P1', 'percent'],
  ppm: ['59', 'part per million'],
  pcs: ['H87', 'piece'],
  parts: ['H87', 'piece'],
  '1': ['C62', 'one'],
  '': ['C62', 'one'],
};

/** The EUInformation for a unit string; units Rec 20 has no entry for here get unit id -1. */
export function euInformationOf(unit: string): EUInformation {
  const known = REC20[unit];
  if (known) return makeEUInformation(known[0], unit, known[1]);
  const custom = makeEUInformation('', unit, unit);
  custom.unitId = -1;
  custom.namespaceUri = CUSTOM_UNITS_URI;
  return custom;
}
