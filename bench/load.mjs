// Load generator, in its own process: POSTs bench alerts (1 per request) to the bridge's Panther webhook or to
// Alertmanager's /api/v2/alerts, and reports when each request started and ended.
// IPC: {target, url (or urls: one per replica, taken round-robin), token, ids:[from,to], mode:'concurrent'|'rate'|'serial', concurrency, rate, gapMs}
// → { starts, statuses, startedAt, endedAt, answerMs: each POST's time from start to the end of its answer }.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function pantherPayload(i, runTag) {
  return JSON.stringify({
    id: `Bench.Detection.${i % 50}`,
    createdAt: new Date().toISOString(),
    severity: ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'][i % 5],
    type: 'RULE',
    link: `https://acme.runpanther.net/alerts/${runTag}${i}`,
    title: `bench#${i} suspicious login from 203.0.113.${i % 250}`,
    name: 'Bench detection',
    alertId: `${runTag}-${i}`,
    alertContext: { sourceIPAddress: `203.0.113.${i % 250}`, user: `user${i}` },
    tags: ['bench'],
    runbook: 'https://runbooks.example.com/bench',
    description: 'Benchmark alert',
  });
}

function alertmanagerPayload(i, runTag) {
  return JSON.stringify([
    {
      labels: { alertname: `bench#${i}`, run: runTag, severity: 'high', instance: `host${i % 50}` },
      annotations: { summary: `bench#${i} suspicious login`, description: 'Benchmark alert' },
      startsAt: new Date().toISOString(),
      generatorURL: `https://acme.runpanther.net/alerts/${runTag}${i}`,
    },
  ]);
}

function post(job, i) {
  const body = job.target === 'alertmanager' ? alertmanagerPayload(i, job.runTag) : pantherPayload(i, job.runTag);
  // Several replicas: alert i goes to replica i mod N (round-robin).
  const url = new URL(job.urls ? job.urls[i % job.urls.length] : job.url);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(job.token ? { 'x-panther-token': job.token } : {}) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function run(job) {
  const [from, to] = job.ids;
  const starts = {};
  const statuses = {};
  const answerMs = [];
  const t0 = now();
  const one = async (i) => {
    starts[i] = now();
    const status = await post(job, i);
    answerMs.push(now() - starts[i]);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  if (job.mode === 'concurrent') {
    let next = from;
    await Promise.all(Array.from({ length: job.concurrency }, async () => {
      while (next < to) await one(next++);
    }));
  } else {
    // Fixed rate (or serial with a gap): start times on a schedule, independent of response times.
    const interval = job.mode === 'rate' ? 1000 / job.rate : job.gapMs;
    const pending = [];
    for (let i = from; i < to; i++) {
      const due = t0 + (i - from) * interval;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const p = one(i);
      if (job.mode === 'serial') await p;
      else pending.push(p);
    }
    await Promise.all(pending);
  }
  return { starts, statuses, startedAt: t0, endedAt: now(), answerMs };
}

process.on('message', async (job) => process.send(await run(job)));
process.send({ ready: true });
