/**
 * The weighted canary (`traffic-router: gateway-api`): green gets its own Service, and the release's
 * HTTPRoute sends it `canary-weight` of the requests of every rule that sends to blue's Service.
 * Nothing else of the route changes (see packages/shared/src/kube/http-route.ts for why a JSON patch).
 */
import type * as k8s from '@kubernetes/client-node';
import { applyGreenService, findService, greenServiceSpec } from '@veloz/shared/kube/green-service';
import { findGreen, greenName, servicesSelecting } from '@veloz/shared/kube/green';
import {
  ROUTE_ANNOTATION,
  blueWeights,
  greenServiceName,
  readRoute,
  refersTo,
  routeRecordOf,
  rulesTo,
  weightPatch,
  type HttpRoute,
  type RouteRecord,
  updateRoute,
} from '@veloz/shared/kube/http-route';
import { StepFailure, type Step } from '@veloz/shared/pipeline';
import { beforeOf, kubeOf, sideBySide, type CanaryState } from './canary-state';

const weighted = (state: CanaryState): boolean =>
  sideBySide(state) && state.s.phase === 'canary' && state.s.router !== undefined;

/** The route's name this phase works on: the input's, or (promotion) the one green recorded. */
function routeName(state: CanaryState): string | undefined {
  if (state.s.phase === 'promote') return routeRecordOf(state.greenBefore)?.route ?? state.s.router?.httpRoute;
  return state.s.router?.httpRoute;
}

/** Blue 95 / green 5 for canary-weight 5%. */
export function weightsOf(weight: number): { blue: number; green: number } {
  return { blue: 100 - weight, green: weight };
}

export function trafficLine(record: Pick<RouteRecord, 'route' | 'weight'>): string {
  const w = weightsOf(record.weight);
  return `blue ${w.blue}% / green ${w.green}% through HTTPRoute ${record.route}`;
}

/** Before any write: the route exists and sends to a Service that selects blue's pods. */
export const readTrafficRoute: Step<CanaryState> = {
  name: (state) => `Read HTTPRoute ${routeName(state)} and blue's Service in it`,
  when: (state) => weighted(state) || (sideBySide(state) && routeRecordOf(state.greenBefore) !== undefined),
  async run(state) {
    const { s } = state;
    const kube = kubeOf(state);
    const ns = s.target.namespace;
    const name = routeName(state)!;
    const route = await readRoute(kube, ns, name);
    const unchanged = s.phase === 'canary' ? ' Nothing was changed.' : '';
    if (!route) {
      throw new StepFailure(`HTTPRoute ${ns}/${name} does not exist.${unchanged}`, [
        `\`kubectl get httproutes -n ${ns}\` (check the \`http-route\` input)`,
      ]);
    }
    const labels = beforeOf(state).deployment.spec?.template?.metadata?.labels ?? {};
    const services = await servicesSelecting(kube, ns, labels);
    const blue = services.find((svc) => rulesTo(route, svc.metadata?.name ?? '').length > 0);
    if (!blue) throw noBlueBackend(state, route, services, unchanged);
    state.route = route;
    state.blueService = blue;
    const service = blue.metadata?.name ?? '';
    const earlier = routeRecordOf(state.greenBefore);
    // A re-run keeps the weights blue had before the first run, not the canary's own.
    state.routeRecord =
      earlier && earlier.route === name && earlier.service === service
        ? { ...earlier, weight: s.router?.weight ?? earlier.weight }
        : {
            route: name,
            service,
            green: greenServiceName(service),
            weight: s.router?.weight ?? 0,
            blueWeights: blueWeights(route, service),
          };
    if (s.phase === 'canary') state.routeDone = await routeInPlace(state, route);
  },
};

function noBlueBackend(
  state: CanaryState,
  route: HttpRoute,
  services: readonly k8s.V1Service[],
  unchanged: string,
): StepFailure {
  const { namespace: ns, deployment } = state.s.target;
  const backends = [
    ...new Set(
      (route.spec?.rules ?? []).flatMap((r) => (r.backendRefs ?? []).map((b) => `${b.kind ?? 'Service'}/${b.name}`)),
    ),
  ];
  const selecting = services.map((svc) => svc.metadata?.name).join(', ') || 'no Service';
  return new StepFailure(
    `HTTPRoute ${ns}/${route.metadata?.name} sends to no Service that selects ${deployment}'s pods: its backends are ${backends.join(', ') || 'none'}; ${deployment}'s pods are selected by ${selecting}.${unchanged}`,
    [`\`kubectl get httproute ${route.metadata?.name} -n ${ns} -o yaml\`: add a backendRef to ${selecting}`],
  );
}

/** Green's Service exists as it should and the route already gives blue and green their weights. */
async function routeInPlace(state: CanaryState, route: HttpRoute): Promise<boolean> {
  const record = state.routeRecord!;
  if (weightPatch(route, { blue: record.service, green: record.green }, weightsOf(record.weight)).length > 0)
    return false;
  const svc = await findService(kubeOf(state), state.s.target.namespace, record.green);
  return svc?.metadata?.ownerReferences?.some((o) => o.uid === state.greenBefore?.metadata?.uid) ?? false;
}

/** The annotation green carries: how to find the route again, and blue's weights before the canary. */
export function routeAnnotation(state: CanaryState): Record<string, string> {
  return state.routeRecord && weighted(state) ? { [ROUTE_ANNOTATION]: JSON.stringify(state.routeRecord) } : {};
}

export const startGreenService: Step<CanaryState> = {
  name: (state) => `Give green its own Service ${state.routeRecord?.green}`,
  when: weighted,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const green = await findGreen(kube, s.target.namespace, s.target.deployment);
    if (!green) throw new Error(`${greenName(s.target.deployment)} disappeared`);
    const how = await applyGreenService(kube, greenServiceSpec(state.blueService!, green, s.target.deployment));
    ctx.log.info(`${how} Service ${state.routeRecord?.green}`);
  },
};

export const setRouteWeights: Step<CanaryState> = {
  name: (state) =>
    `Set HTTPRoute ${state.routeRecord?.route}: ${trafficLine(state.routeRecord ?? { route: '', weight: state.s.router?.weight ?? 0 })}`,
  when: weighted,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const record = state.routeRecord!;
    const services = { blue: record.service, green: record.green };
    const result = await updateRoute(kube, s.target.namespace, record.route, (route) =>
      weightPatch(route, services, weightsOf(record.weight)),
    );
    if (!result.route) throw new StepFailure(`HTTPRoute ${s.target.namespace}/${record.route} disappeared.`);
    ctx.log.info(
      result.written
        ? `HTTPRoute ${record.route}: ${trafficLine(record)}`
        : `HTTPRoute ${record.route} already sends ${record.weight}% to green`,
    );
    reportWeights(state);
  },
};

export function reportWeights(state: CanaryState): void {
  const record = state.routeRecord;
  if (!record) return;
  state.out.outputs['canary-weight'] = `${record.weight}%`;
  state.out.outputs.traffic = trafficLine(record);
}

/** Whether blue's rules send to green now (the promotion's switch has work to do). */
export function routeSendsToGreen(route: HttpRoute | undefined, green: string): boolean {
  return (route?.spec?.rules ?? []).some((r) => (r.backendRefs ?? []).some((b) => refersTo(b, green, route!)));
}
