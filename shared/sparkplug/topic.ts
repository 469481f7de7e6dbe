/**
 * Sparkplug topics (3.0 §4.1): `spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`.
 * Device messages (DBIRTH, DDEATH, DDATA, DCMD) carry a device id; node messages do not.
 * STATE (`spBv1.0/STATE/<host_id>`) is a host application's and is not modelled here.
 */

export const SPARKPLUG_NAMESPACE = 'spBv1.0';

export const NODE_MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD'] as const;
export const DEVICE_MESSAGE_TYPES = ['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;
export type NodeMessageType = (typeof NODE_MESSAGE_TYPES)[number];
export type DeviceMessageType = (typeof DEVICE_MESSAGE_TYPES)[number];
export type MessageType = NodeMessageType | DeviceMessageType;

export type SparkplugTopic =
  | { groupId: string; messageType: NodeMessageType; edgeNodeId: string; deviceId?: undefined }
  | { groupId: string; messageType: DeviceMessageType; edgeNodeId: string; deviceId: string };

const NODE_TYPES = new Set<string>(NODE_MESSAGE_TYPES);
const DEVICE_TYPES = new Set<string>(DEVICE_MESSAGE_TYPES);

/**
 * Why `id` cannot be a Sparkplug group, edge node or device id, or undefined when it can: a
 * non-empty UTF-8 string without the MQTT separator and wildcards `/ + #` (3.0 §4.1.1).
 */
export function sparkplugIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (/[/+#]/.test(id)) return 'it contains "/", "+" or "#"';
  if (id.includes('\u0000')) return 'it contains NUL'; // banned in any MQTT topic [MQTT-4.7.3-2]
  return undefined;
}

/** The topic of a message; throws a RangeError for an id that cannot be a topic level. */
export function sparkplugTopic(t: SparkplugTopic): string {
  for (const [what, id] of [['group id', t.groupId], ['edge node id', t.edgeNodeId]] as const) {
    const problem = sparkplugIdProblem(id);
    if (problem) throw new RangeError(`Sparkplug ${what} "${id}" is not usable: ${problem}`);
  }
  const base = `${SPARKPLUG_NAMESPACE}/${t.groupId}/${t.messageType}/${t.edgeNodeId}`;
  if (t.deviceId === undefined) return base;
  const problem = sparkplugIdProblem(t.deviceId);
  if (problem) throw new RangeError(`Sparkplug device id "${t.deviceId}" is not usable: ${problem}`);
  return `${base}/${t.deviceId}`;
}

/** The parts of a Sparkplug B topic, or undefined when the topic is not one. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/');
  const [namespace, groupId, messageType, edgeNodeId, deviceId] = parts;
  if (namespace !== SPARKPLUG_NAMESPACE || groupId === undefined || messageType === undefined || edgeNodeId === undefined) return undefined;
  if (groupId === '' || edgeNodeId === '') return undefined;
  if (parts.length === 4 && NODE_TYPES.has(messageType)) return { groupId, messageType: messageType as NodeMessageType, edgeNodeId };
  if (parts.length === 5 && DEVICE_TYPES.has(messageType) && deviceId) {
    return { groupId, messageType: messageType as DeviceMessageType, edgeNodeId, deviceId };
  }
  return undefined;
}
