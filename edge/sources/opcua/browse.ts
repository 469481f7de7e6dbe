import { AttributeIds, BrowseDirection, type BrowseResult, NodeClass, NodeClassMask, ReferenceTypeIds, makeResultMask, resolveNodeId, type ClientSession, type ReferenceDescription } from 'node-opcua';
import { segmentOf } from './decode.js';

export interface DiscoveredVariable {
  nodeId: string;
  /** Browse names from the root (excluded) down to the variable. */
  path: string[];
}

/**
 * An operation limit of the server (OperationLimits, OPC 10000-5 6.3.11), capped at `most`; 0,
 * absent or unreadable: `most`. A server refuses a call over its limit whole (BadTooManyOperations).
 */
export async function operationLimit(session: ClientSession, nodeId: string, most: number): Promise<number> {
  try {
    const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
    const limit = Number(dv.value?.value);
    return dv.statusCode.isGood() && Number.isInteger(limit) && limit > 0 ? Math.min(limit, most) : most;
  } catch {
    return most;
  }
}

/** The structure of a plant: folders and objects that organise or contain components. */
const STRUCTURAL = new Set([ReferenceTypeIds.Organizes, ReferenceTypeIds.HasComponent, ReferenceTypeIds.HasOrderedComponent]);

/**
 * Walks Organizes/HasComponent references from `root` and returns every Variable found, with its
 * browse path. Properties (EURange, EngineeringUnits, EnumStrings: HasProperty) are metadata, not
 * signals, and are not followed.
 */
export async function discoverVariables(session: ClientSession, root: string, maxDepth: number): Promise<DiscoveredVariable[]> {
  const perCall = await operationLimit(session, 'i=11710', 500); // MaxNodesPerBrowse
  const found: DiscoveredVariable[] = [];
  const seen = new Set<string>();
  let level: { nodeId: string; path: string[] }[] = [{ nodeId: resolveNodeId(root).toString(), path: [] }];
  for (let depth = 0; depth < maxDepth && level.length > 0; depth++) {
    const next: typeof level = [];
    // In slices: a plant level can hold thousands of variables, more than a Browse call may name.
    const results: BrowseResult[] = [];
    for (let first = 0; first < level.length; first += perCall) {
      const slice = level.slice(first, first + perCall);
      results.push(
        ...(await session.browse(
          slice.map((n) => ({
            nodeId: n.nodeId,
            browseDirection: BrowseDirection.Forward,
            referenceTypeId: 'HierarchicalReferences',
            includeSubtypes: true,
            nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
            resultMask: makeResultMask('ReferenceType | BrowseName | NodeClass'),
          })),
        )),
      );
    }
    for (let i = 0; i < results.length; i++) {
      const parent = level[i]!;
      const refs: ReferenceDescription[] = [...(results[i]!.references ?? [])];
      let cp = results[i]!.continuationPoint;
      while (cp && cp.length > 0) {
        const more = await session.browseNext(cp, false);
        refs.push(...(more.references ?? []));
        cp = more.continuationPoint;
      }
      for (const ref of refs) {
        if (!STRUCTURAL.has(ref.referenceTypeId.value as number) || ref.referenceTypeId.namespace !== 0) continue;
        const id = ref.nodeId.toString();
        if (seen.has(id)) continue;
        seen.add(id);
        const path = [...parent.path, segmentOf(ref.browseName.name ?? '')];
        if (ref.nodeClass === NodeClass.Variable) found.push({ nodeId: id, path });
        next.push({ nodeId: id, path });
      }
    }
    level = next;
  }
  return found;
}
