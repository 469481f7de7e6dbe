import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeIssues } from '../../../shared/config-load.js';
import { SourceConfig } from '../registry.js';
import { EXAMPLE_MQTT_MAPPED_SOURCE, MqttSourceConfig, subscriptions } from './config.js';

const problems = (raw: unknown) => {
  const r = MqttSourceConfig.safeParse(raw);
  return r.success ? [] : describeIssues(r.error.issues);
};

describe('mqtt source config: topic templates and JSON mapping', () => {
  it('parses the example, also through the source registry', () => {
    const [raw] = parseYaml(EXAMPLE_MQTT_MAPPED_SOURCE) as unknown[];
    const cfg = MqttSourceConfig.parse(raw);
    expect(cfg.topicTemplate).toBe('plant/+line/+machine/+sensor');
    expect(cfg.json).toEqual({ value: 'data.v', ts: 'data.t', tsUnit: 's' });
    expect(subscriptions(cfg)).toEqual(['plant/+/+/+']);
    expect(SourceConfig.parse(raw).type).toBe('mqtt');
  });

  it('derives the subscription from the template unless subscribe is given', () => {
    const base = { type: 'mqtt', topicTemplate: 'site/+area/#path', sensorId: 'acme/{area}/{path}' };
    expect(subscriptions(MqttSourceConfig.parse(base))).toEqual(['site/+/#']);
    expect(subscriptions(MqttSourceConfig.parse({ ...base, subscribe: ['site/a1/#'] }))).toEqual(['site/a1/#']);
    expect(subscriptions(MqttSourceConfig.parse({ type: 'mqtt' }))).toEqual(['factory/#']);
  });

  it.each([
    ['a bad template', { topicTemplate: 'plant/#rest/x', sensorId: 'a/{rest}' }, /topicTemplate.*not a topic template.*must be the last level/],
    ['an unknown placeholder', { topicTemplate: 'plant/+line', sensorId: 'acme/{machine}' }, /sensorId.*\{machine\} is not a capture/],
    ['an id pattern that cannot be a sensor id', { topicTemplate: 'plant/+line', sensorId: 'acme//{line}' }, /sensorId.*not a valid sensor id|sensorId.*words separated/],
    ['a template without sensorId', { topicTemplate: 'plant/+line' }, /sensorId.*go together/],
    ['a mapping on sparkplug', { format: 'sparkplug', json: { value: 'v', ts: 't' } }, /json.*only for format: json/],
    ['a bad path', { json: { value: 'data..v', ts: 't' } }, /json\.value.*dotted path/],
    ['an unknown mapping key', { json: { value: 'v', ts: 't', unit: 'bar' } }, /unit/],
  ])('rejects %s with a clear message', (_what, extra, message) => {
    expect(problems({ type: 'mqtt', ...extra }).join('\n')).toMatch(message);
  });
});
