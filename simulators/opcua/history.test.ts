import { DataType, StatusCodes, Variant } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { createOpcuaHistory, HistoryRing } from './history.js';
import { CUSTOM_UNITS_URI, euInformationOf } from './units.js';

const double = (v: number) => new Variant({ dataType: DataType.Double, value: v });

describe('HistoryRing', () => {
  it('keeps the last `capacity` values, oldest overwritten first', () => {
    const ring = new HistoryRing(3);
    for (let i = 1; i <= 5; i++) ring.push(i * 1000, i, StatusCodes.Good);
    expect(ring.length).toBe(3);
    const all = ring.select(-Infinity, Infinity, 0, false).map((p) => ring.dataValue(p, double));
    expect(all.map((dv) => dv.value.value)).toEqual([3, 4, 5]);
    expect(all.map((dv) => dv.sourceTimestamp?.getTime())).toEqual([3000, 4000, 5000]);
  });

  it('selects a closed time range forwards or newest first, up to a count', () => {
    const ring = new HistoryRing(10);
    for (let i = 1; i <= 6; i++) ring.push(i * 1000, i * 10, i === 4 ? StatusCodes.BadNoCommunication : StatusCodes.Good);
    const values = (positions: number[]) => positions.map((p) => ring.dataValue(p, double).value.value);
    expect(values(ring.select(2000, 4000, 0, false))).toEqual([20, 30, 40]);
    expect(values(ring.select(-Infinity, 5000, 2, true))).toEqual([50, 40]);
    expect(values(ring.select(3000, Infinity, 2, false))).toEqual([30, 40]);
    expect(ring.select(7000, 8000, 0, false)).toEqual([]);
    expect(ring.dataValue(3, double).statusCode.equals(StatusCodes.BadNoCommunication)).toBe(true);
  });

  it('serves "no value yet" (NaN) as a null variant', () => {
    const ring = new HistoryRing(2);
    ring.push(1000, Number.NaN, StatusCodes.BadNoCommunication);
    expect(ring.dataValue(0, double).value.dataType).toBe(DataType.Null);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new HistoryRing(0)).toThrow(RangeError);
  });
});

describe('createOpcuaHistory', () => {
  it('keeps one ring per sensor, so that values recorded while no server runs are served by the next one', () => {
    const history = createOpcuaHistory(4);
    history.record([
      { sensor: 'a/b', ts: 1000, value: 1 },
      { sensor: 'a/b', ts: 2000, value: 2, quality: 'bad' },
    ]);
    const ring = history.ring('a/b');
    expect(history.ring('a/b')).toBe(ring);
    const served = ring.select(-Infinity, Infinity, 0, false).map((p) => ring.dataValue(p, double));
    expect(served.map((dv) => dv.value.value)).toEqual([1, 2]);
    expect(served[1]!.statusCode.equals(StatusCodes.Bad)).toBe(true);
    expect(history.ring('c/d').length).toBe(0);
  });
});

describe('euInformationOf', () => {
  it('maps plant units to UN/CEFACT codes and keeps the plant spelling as display name', () => {
    const rpm = euInformationOf('rpm');
    expect(rpm.displayName.text).toBe('rpm');
    expect(rpm.unitId).toBe(0x52504d); // "RPM"
    expect(euInformationOf('°C').unitId).toBe(0x43454c); // "CEL"
    expect(euInformationOf('1/min').unitId).toBe(0x433934); // "C94" reciprocal minute
    expect(euInformationOf('kWh').unitId).toBe(0x4b5748); // "KWH"
  });

  it('gives units Rec 20 does not know unit id -1 in our own namespace', () => {
    const odd = euInformationOf('furlongs/fortnight');
    expect(odd.unitId).toBe(-1);
    expect(odd.namespaceUri).toBe(CUSTOM_UNITS_URI);
    expect(odd.displayName.text).toBe('furlongs/fortnight');
  });
});
