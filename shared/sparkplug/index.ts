/**
 * Sparkplug B (Eclipse Sparkplug 3.0): the payload codec, topics and session rules, shared by the
 * simulator (an edge node that publishes) and the edge agent (a host that decodes).
 */
export * from './payload.js';
export * from './topic.js';
export * from './rules.js';
