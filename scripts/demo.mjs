// `npm run demo`: a local S3 endpoint (moto) and the sidecar syncing ./demo-data, in one command.
// Ctrl-C stops the sidecar (final up-sync) and then moto.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startMoto, freePort } from './moto.mjs';

const dataDir = resolve('demo-data');
const bucket = 'demo-bucket';
const prefix = 'app/data';

const moto = await startMoto({ ownProcessGroup: true });
const httpPort = process.env.HTTP_PORT ? Number(process.env.HTTP_PORT) : await freePort();
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'demo',
  AWS_SECRET_ACCESS_KEY: 'demo',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
// This script's own S3 client would print the SDK's multi-line Node-version notice as plain text
// among the sidecar's JSON lines (the sidecar logs that notice itself, as one WARN line). Set after
// `env` is built, so the sidecar still gets its notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const s3 = new S3Client({
  endpoint: moto.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
});
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
await s3.send(
  new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/from-s3/hello.txt`, Body: 'this file started in the bucket\n' }),
);
s3.destroy();
mkdirSync(dataDir, { recursive: true });
if (!existsSync(resolve(dataDir, 'from-disk.txt'))) writeFileSync(resolve(dataDir, 'from-disk.txt'), 'this file started on disk\n');

const aws = `AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo aws --endpoint-url ${moto.endpoint} --region us-east-1`;
console.log(`
s3-sync2 demo
  local folder : ${dataDir}
  bucket       : s3://${bucket}/${prefix}  (moto at ${moto.endpoint})
  control API  : http://127.0.0.1:${httpPort}

Try, in another terminal:
  echo hi > demo-data/new.txt                          # uploaded within a second (file watcher)
  ${aws} s3 ls --recursive s3://${bucket}/${prefix}/
  echo remote | ${aws} s3 cp - s3://${bucket}/${prefix}/remote.txt   # downloaded at the next poll (5 s)
  curl -s localhost:${httpPort}/health; curl -s -X POST localhost:${httpPort}/sync/down
  curl -s localhost:${httpPort}/metrics | grep s3sync2_files_total
Ctrl-C stops it (one final up-sync first).
`);

const sidecar = spawn(
  process.execPath,
  [
    'dist/main.js',
    dataDir,
    `s3://${bucket}/${prefix}`,
    '--endpoint-url', moto.endpoint,
    '--poll', '5',
    '--http-host', '127.0.0.1',
    '--http-port', String(httpPort),
    '--debug', 'INFO',
  ],
  { stdio: 'inherit', env },
);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  sidecar.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((r) => sidecar.on('exit', (c) => r(c ?? 0)));
await moto.stop();
console.log(`demo stopped (sidecar exit code ${code})`);
process.exit(code);
