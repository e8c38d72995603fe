import type { Route } from '../http/_router.js';
import { accessRoutes } from './access.js';
import { accessUserRoutes } from './access-users.js';
import { accessAclRoutes } from './access-acl.js';
import { clusterRoutes } from './cluster.js';
import { nodeRoutes } from './nodes.js';
import { taskRoutes } from './tasks.js';
import { poolRoutes } from './pools.js';
import { storageConfigRoutes } from './storage-config.js';
import { nodeStorageRoutes } from './node-storage.js';
import { downloadRoutes } from './download.js';
import { qemuRoutes } from './qemu.js';
import { qemuExtraRoutes } from './qemu-extra.js';

/** Every API method the simulator implements. */
export const allRoutes: readonly Route[] = [
  ...clusterRoutes,
  ...accessRoutes,
  ...accessUserRoutes,
  ...accessAclRoutes,
  ...nodeRoutes,
  ...taskRoutes,
  ...poolRoutes,
  ...storageConfigRoutes,
  ...nodeStorageRoutes,
  ...downloadRoutes,
  ...qemuRoutes,
  ...qemuExtraRoutes,
];
