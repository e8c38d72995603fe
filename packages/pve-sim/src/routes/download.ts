import type { Route } from '../http/_router.js';
import { fail, paramError } from '../http/_errors.js';
import { bool, opt, std, str } from '../schema/std.js';
import { p, req } from './_helpers.js';
import type { ContentType } from '../state/model.js';
import { storageAvailableOn, storageConfig } from '../storage/volumes.js';
import { ISO_EXT_RE, VZTMPL_EXT_RE } from '../storage/volname.js';
import { downloadToStorage, openUrl } from '../storage/download.js';
import { importUpload, uploadedFile } from '../storage/upload.js';
import { rm } from 'node:fs/promises';

const urlPattern = /https?:\/\/.*/;

/**
 * The name a file is stored under and, for disk images, its format — PVE's rules, shared by
 * `download-url` and `upload`: path stripped, unsafe characters replaced, extension per content.
 */
function storedFilename(given: string, content: ContentType): { filename: string; imageFormat: string | undefined } {
  const filename = given.trim().replace(/^.*[/\\]/, '').replace(/[^a-zA-Z0-9_.-]/g, '_');
  if (content === 'iso') {
    if (!ISO_EXT_RE.test(filename)) paramError({ filename: 'wrong file extension' });
    return { filename, imageFormat: undefined };
  }
  if (content === 'vztmpl') {
    if (!VZTMPL_EXT_RE.test(filename)) paramError({ filename: 'wrong file extension' });
    return { filename, imageFormat: undefined };
  }
  const m = /^[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$/.exec(filename);
  if (!m) paramError({ filename: 'invalid filename or wrong extension' });
  return { filename, imageFormat: m[1] === 'ova' ? undefined : m[1] };
}

/** Files into dir storages: `download-url` (loopback URLs only), `upload`, `query-url-metadata`. */
export const downloadRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: '/nodes/{node}/storage/{storage}/download-url',
    permissions: {
      check: [
        'and',
        ['perm', '/storage/{storage}', ['Datastore.AllocateTemplate']],
        ['or', ['perm', '/', ['Sys.Audit', 'Sys.Modify']], ['perm', '/nodes/{node}', ['Sys.AccessNetwork']]],
      ],
    },
    params: {
      node: std.node,
      storage: std.storage,
      url: str({ pattern: urlPattern }),
      content: str({ format: 'pve-storage-content', enum: ['iso', 'vztmpl', 'import'] }),
      filename: str({ maxLength: 255 }),
      checksum: opt(str({ requires: 'checksum-algorithm' })),
      'checksum-algorithm': opt(str({ enum: ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], requires: 'checksum' })),
      compression: opt(str({ enum: ['gz', 'lzo', 'zst', 'bz2'] })),
      'verify-certificates': opt(bool({ default: 1 })),
    },
    handler: ({ sim, node, principal, params }) => {
      const storage = req(params, 'storage');
      const cfg = storageConfig(sim, storage);
      if (!storageAvailableOn(cfg, node)) fail(`storage '${storage}' is not available on node '${node}'`);
      if (cfg.type !== 'dir') fail(`can't upload to storage type '${cfg.type}', not a file based storage!`);
      const content = req(params, 'content') as ContentType;
      if (!cfg.content.includes(content)) fail(`storage '${storage}' is not configured for content-type '${content}'`);
      const { filename, imageFormat } = storedFilename(req(params, 'filename'), content);
      const algorithm = p(params, 'checksum-algorithm');
      const checksum = p(params, 'checksum');
      const compression = p(params, 'compression');
      return sim.tasks.start({
        node,
        type: 'download',
        id: filename,
        user: principal,
        work: async (t) => {
          if (compression && content !== 'iso') throw new Error(`decompression not supported for ${content}`);
          await downloadToStorage(sim, t, {
            node,
            storage,
            root: cfg.path ?? '/var/lib/vz',
            url: req(params, 'url'),
            content,
            filename,
            ...(checksum && algorithm ? { checksum: { algorithm, value: checksum } } : {}),
            ...(compression ? { compression } : {}),
            ...(imageFormat ? { imageFormat } : {}),
          });
        },
      });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/query-url-metadata',
    permissions: {
      check: ['or', ['perm', '/', ['Sys.Audit', 'Sys.Modify']], ['perm', '/nodes/{node}', ['Sys.AccessNetwork']]],
    },
    params: { node: std.node, url: str({ pattern: urlPattern }), 'verify-certificates': opt(bool({ default: 1 })) },
    handler: async ({ sim, params }) => {
      const url = req(params, 'url');
      let res;
      try {
        res = await openUrl(sim, url, 'HEAD');
      } catch (err) {
        fail(`invalid server response: '${(err as Error).message.trim()}'`);
      }
      res.resume();
      const out: Record<string, unknown> = {};
      const disposition = String(res.headers['content-disposition'] ?? '');
      const fromHeader = /filename="?([^";]+)"?/.exec(disposition)?.[1];
      const fromPath = new URL(url).pathname.split('/').pop();
      const filename = fromHeader ?? (fromPath || undefined);
      if (filename) out['filename'] = filename;
      if (res.headers['content-length'] !== undefined) out['size'] = Number(res.headers['content-length']);
      if (res.headers['content-type']) out['mimetype'] = String(res.headers['content-type']).split(';')[0];
      return out;
    },
  },  {
    method: 'POST',
    path: '/nodes/{node}/storage/{storage}/upload',
    permissions: { check: ['perm', '/storage/{storage}', ['Datastore.AllocateTemplate']] },
    params: {
      node: std.node,
      storage: std.storage,
      content: str({ format: 'pve-storage-content', enum: ['iso', 'vztmpl', 'import'] }),
      filename: str({ maxLength: 255 }),
      checksum: opt(str({ requires: 'checksum-algorithm' })),
      'checksum-algorithm': opt(str({ enum: ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], requires: 'checksum' })),
      tmpfilename: opt(str({ pattern: /\/var\/tmp\/pveupload-[0-9a-f]+/ })),
    },
    handler: async ({ sim, node, principal, params }) => {
      const storage = req(params, 'storage');
      const tmpfilename = p(params, 'tmpfilename');
      const cleanup = async (): Promise<void> => {
        if (tmpfilename) await rm(uploadedFile(sim, tmpfilename), { force: true });
      };
      try {
        const cfg = storageConfig(sim, storage);
        if (!storageAvailableOn(cfg, node)) fail(`storage '${storage}' is not available on node '${node}'`);
        if (cfg.type !== 'dir') fail(`can't upload to storage type '${cfg.type}'`);
        if (!tmpfilename) fail('missing temporary file name');
        const content = req(params, 'content') as ContentType;
        const { filename, imageFormat } = storedFilename(req(params, 'filename'), content);
        if (!cfg.content.includes(content)) fail(`storage '${storage}' does not support '${content}' content`);
        const algorithm = p(params, 'checksum-algorithm');
        const checksum = p(params, 'checksum');
        return sim.tasks.start({
          node,
          type: 'imgcopy',
          id: '',
          user: principal,
          work: (t) =>
            importUpload(sim, t, {
              node,
              storage,
              root: cfg.path ?? '/var/lib/vz',
              content,
              filename,
              tmpfilename,
              ...(checksum && algorithm ? { checksum: { algorithm, value: checksum } } : {}),
              ...(imageFormat ? { imageFormat } : {}),
            }),
        });
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  },
];
