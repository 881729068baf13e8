/**
 * The deploy files (issue 16, point 7): the kustomize base under deploy/kubernetes/ and the "replicas" profile of
 * docker-compose.yml. Every file is parsed and held to what docs/operations.md says of it; the base is rendered
 * with `kubectl kustomize` and the compose file checked with `docker compose config` (or docker-compose) when those
 * tools are on the machine (kubectl is on this project's machines; a Docker engine is not, and neither command
 * needs one).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfigText } from '../src/config/load';

const root = path.resolve(__dirname, '..');
const k8s = path.join(root, 'deploy', 'kubernetes');
const read = (file: string) => readFileSync(file, 'utf8');
const has = (command: string, ...args: string[]) => spawnSync(command, args, { encoding: 'utf8' }).status === 0;

/** Every document of every YAML file of the base, by file. */
const documents = Object.fromEntries(
  readdirSync(k8s)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => {
      const docs = parseAllDocuments(read(path.join(k8s, f)));
      for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]!.message}`);
      return [f, docs.map((d) => d.toJS() as any)];
    }),
);
const kustomization = documents['kustomization.yaml']![0];
const byKind = (kind: string) => Object.values(documents).flat().find((d) => d?.kind === kind);

const SECRET_ENV = { DATABASE_URL: 'postgres://bridge:pw@db:5432/chatops', PANTHER_WEBHOOK_TOKEN: 'p', SLACK_BOT_TOKEN: 'xoxb-1', DISCORD_BOT_TOKEN: 'd' };

describe('deploy/kubernetes (kustomize base)', () => {
  it('lists resources that exist, generates the ConfigMap from a file that exists, and leaves the example Secret out', () => {
    for (const file of [...kustomization.resources, ...kustomization.configMapGenerator.flatMap((g: { files: string[] }) => g.files)]) {
      expect([file, existsSync(path.join(k8s, file))]).toEqual([file, true]);
    }
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    expect(Object.values(documents).flat().filter((d) => d?.kind === 'Secret')).toHaveLength(1); // the example, only
    expect(read(path.join(k8s, 'secret.example.yaml'))).toMatch(/^# EXAMPLE ONLY/);
  });

  it('holds a bridge config on PostgreSQL through ${DATABASE_URL} that the bridge loads', () => {
    const result = loadConfigText(read(path.join(k8s, 'chatops-bridge.yaml')), SECRET_ENV);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.store).toEqual({ engine: 'postgres', url: SECRET_ENV.DATABASE_URL });
    expect(result.config.server.port).toBe(8080);
  });

  it('runs two replicas as the image user, read-only, with probes, resources and a grace above the shutdown', () => {
    const deployment = byKind('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment.spec.replicas).toBe(2);
    // The Dockerfile's runtime user is node, uid 1000 in the node images (numeric here so the kubelet can check it).
    expect(read(path.join(root, 'Dockerfile'))).toMatch(/^USER node$/m);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(container.resources.limits).sort()).toEqual(['cpu', 'memory']);
    // Grace: the preStop pause, then up to shutdownTimeoutMs for connections and as long again for the records.
    const config = loadConfigText(read(path.join(k8s, 'chatops-bridge.yaml')), SECRET_ENV);
    const shutdownS = config.ok ? config.config.server.shutdownTimeoutMs / 1000 : Infinity;
    const pause = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + 2 * shutdownS);
    // The config comes from the generated ConfigMap, mounted where the args point.
    expect(container.args).toEqual(['serve', '--config', '/config/chatops-bridge.yaml']);
    expect(pod.volumes.find((v: { name: string }) => v.name === 'config').configMap.name).toBe(kustomization.configMapGenerator[0].name);
  });

  it('takes DATABASE_URL and every token the config names from the Secret, by reference', () => {
    const container = byKind('Deployment').spec.template.spec.containers[0];
    const fromSecret = new Map<string, { name: string; key: string; optional?: boolean }>(
      container.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => [e.name, e.valueFrom.secretKeyRef]),
    );
    const yamlLines = read(path.join(k8s, 'chatops-bridge.yaml')).split('\n').map((line) => line.replace(/\s+#.*$|^\s*#.*$/, ''));
    const referenced = [...yamlLines.join('\n').matchAll(/\$\{([A-Z_]+)(:-)?\}/g)];
    expect(referenced.map((m) => m[1])).toEqual(['DATABASE_URL', 'PANTHER_WEBHOOK_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DISCORD_BOT_TOKEN', 'DISCORD_PUBLIC_KEY']);
    for (const [, name, hasDefault] of referenced) {
      expect([name, fromSecret.get(name!)?.name]).toEqual([name, 'chatops-bridge']);
      // A variable without a default stops the start when unset: its key must not be optional.
      if (!hasDefault) expect([name, fromSecret.get(name!)?.optional ?? false]).toEqual([name, false]);
    }
    expect(container.env.filter((e: any) => e.value !== undefined).map((e: any) => e.name)).toEqual(['LOG_LEVEL']);
  });

  it('keeps one replica through voluntary disruptions and selects the pods the Service selects', () => {
    const pdb = byKind('PodDisruptionBudget');
    const service = byKind('Service');
    const labels = byKind('Deployment').spec.template.metadata.labels;
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(service.spec.selector).toEqual(labels);
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  (has('kubectl', 'version', '--client') ? it : it.skip)('renders with kubectl kustomize', () => {
    const rendered = spawnSync('kubectl', ['kustomize', k8s], { encoding: 'utf8' });
    expect([rendered.status, rendered.stderr]).toEqual([0, '']);
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as any);
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
    const configMap = docs.find((d) => d.kind === 'ConfigMap');
    const deployment = docs.find((d) => d.kind === 'Deployment');
    // The generated name (with its content hash) is the one the Deployment mounts.
    expect(configMap.metadata.name).toMatch(/^chatops-bridge-config-[a-z0-9]+$/);
    expect(deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').configMap.name).toBe(configMap.metadata.name);
    expect(configMap.data['chatops-bridge.yaml']).toContain('url: ${DATABASE_URL}');
  });
});

describe('deploy/kubernetes-split (receivers and workers)', () => {
  const split = path.join(root, 'deploy', 'kubernetes-split');
  const worker = parse(read(path.join(split, 'worker-deployment.yaml')));
  const base = byKind('Deployment');

  it('runs the workers in the base\'s pod but for the role and the labels no Service or disruption budget selects', () => {
    const pod = worker.spec.template.spec;
    const container = pod.containers[0];
    expect(container.args).toEqual(['serve', '--config', '/config/chatops-bridge.yaml', '--role', 'worker']);
    const labels = worker.spec.template.metadata.labels;
    expect(worker.spec.selector.matchLabels).toEqual(labels);
    expect(labels).not.toEqual(byKind('Service').spec.selector);
    expect(labels).not.toEqual(byKind('PodDisruptionBudget').spec.selector.matchLabels);
    // What the base says of its pod holds here too: the same image, environment, mounts, limits and probes.
    const baseContainer = base.spec.template.spec.containers[0];
    for (const key of ['image', 'env', 'volumeMounts', 'securityContext', 'resources', 'startupProbe', 'livenessProbe', 'readinessProbe', 'lifecycle', 'ports']) {
      expect([key, container[key]]).toEqual([key, baseContainer[key]]);
    }
    for (const key of ['securityContext', 'volumes', 'terminationGracePeriodSeconds', 'automountServiceAccountToken']) expect([key, pod[key]]).toEqual([key, base.spec.template.spec[key]]);
  });

  (has('kubectl', 'version', '--client') ? it : it.skip)('renders with kubectl kustomize: the base\'s replicas receive, the workers mount the same generated config', () => {
    const rendered = spawnSync('kubectl', ['kustomize', split], { encoding: 'utf8' });
    expect([rendered.status, rendered.stderr]).toEqual([0, '']);
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as any);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(['ConfigMap/' + docs.find((d) => d.kind === 'ConfigMap').metadata.name, 'Deployment/chatops-bridge', 'Deployment/chatops-bridge-worker', 'PodDisruptionBudget/chatops-bridge', 'Service/chatops-bridge']);
    const deployment = (name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
    expect(deployment('chatops-bridge').spec.template.spec.containers[0].args).toEqual(['serve', '--config', '/config/chatops-bridge.yaml', '--role', 'receiver']);
    expect(deployment('chatops-bridge-worker').spec.template.spec.containers[0].args.slice(-2)).toEqual(['--role', 'worker']);
    const configMap = docs.find((d) => d.kind === 'ConfigMap').metadata.name;
    for (const name of ['chatops-bridge', 'chatops-bridge-worker']) {
      expect(deployment(name).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').configMap.name).toBe(configMap);
    }
  });
});

describe('docker-compose.yml, profile replicas', () => {
  const compose = parse(read(path.join(root, 'docker-compose.yml')), { merge: true }) as { services: Record<string, any> };
  const haproxy = read(path.join(root, 'deploy', 'compose', 'haproxy.cfg'));

  it('keeps the single SQLite service as it was (no profile) and adds PostgreSQL 15, two replicas and a proxy', () => {
    expect(compose.services['chatops-bridge'].profiles).toBeUndefined();
    expect(compose.services.postgres).toMatchObject({ image: 'postgres:15', profiles: expect.arrayContaining(['replicas']) });
    for (const name of ['bridge-1', 'bridge-2']) {
      const replica = compose.services[name];
      expect(replica.profiles).toEqual(['replicas']);
      expect(replica.environment).toMatchObject({ DATABASE_URL: 'postgres://chatops@postgres:5432/chatops', PORT: '8080' });
      expect(replica.depends_on.postgres.condition).toBe('service_healthy');
      expect(replica.healthcheck.test.join(' ')).toContain('/readyz');
      expect(replica.volumes.some((v: string) => v.startsWith('bridge-data:'))).toBe(false); // no SQLite volume
    }
    expect(compose.services.proxy.profiles).toEqual(['replicas']);
    expect(compose.services.proxy.healthcheck.test.join(' ')).toContain('/healthz');
  });

  it('proxies to both replicas on the port they listen on, checking /healthz, from a config file that exists', () => {
    const mount = compose.services.proxy.volumes.find((v: string) => v.includes('haproxy.cfg')) as string;
    expect(existsSync(path.join(root, mount.split(':')[0]!))).toBe(true);
    expect([...haproxy.matchAll(/^\s*server (\S+) (\S+)/gm)].map((m) => [m[1], m[2]])).toEqual([
      ['bridge-1', 'bridge-1:8080'],
      ['bridge-2', 'bridge-2:8080'],
    ]);
    expect(haproxy).toMatch(/^\s*balance roundrobin$/m);
    expect(haproxy).toMatch(/^\s*option httpchk GET \/healthz$/m);
  });

  it('copies the single service\'s SQLite store with migrate --from, on its volume', () => {
    const copy = compose.services['store-copy'];
    expect(copy.command.slice(0, 3)).toEqual(['migrate', '--from', 'sqlite:/app/data/chatops-bridge.db']);
    expect(copy.volumes).toContain('bridge-data:/app/data');
    expect(copy.profiles).not.toContain('replicas');
  });

  const composeCommand = has('docker', 'compose', 'version') ? ['docker', 'compose'] : has('docker-compose', 'version') ? ['docker-compose'] : null;
  (composeCommand ? it : it.skip)(`is valid for ${composeCommand?.join(' ') ?? 'docker compose'} config, with and without the profiles`, () => {
    // A copy with .env from .env.example (env_file must exist); nothing is built, pulled or started.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-compose-'));
    cpSync(path.join(root, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
    cpSync(path.join(root, 'deploy'), path.join(dir, 'deploy'), { recursive: true });
    cpSync(path.join(root, '.env.example'), path.join(dir, '.env'));
    for (const profiles of [[], ['--profile', 'replicas'], ['--profile', 'sqlite-to-postgres']]) {
      const result = spawnSync(composeCommand![0]!, [...composeCommand!.slice(1), ...profiles, 'config', '--quiet'], { cwd: dir, encoding: 'utf8' });
      expect([profiles, result.status, result.stderr]).toEqual([profiles, 0, '']);
    }
  });
});
