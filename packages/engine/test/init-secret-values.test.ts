import bcrypt from 'bcryptjs';
import { verify } from 'unixcrypt';
import { describe, expect, it } from 'vitest';
import { generateSecretValue, secretShape, shapeProblem } from '../src/init/secret-values.js';

describe('secret values of the right shape (lab init, scratch labs)', () => {
  it('knows the shape from where the secret is used and what it is called', () => {
    expect(secretShape({ name: 'common/sam-password-hash', path: 'os.users[0].passwordHash' })).toBe('crypt-hash');
    expect(secretShape({ name: 'edge/adguard-admin-password-hash', path: 'workloads.stacks[0].templates[0].vars.admin_password_hash' })).toBe('bcrypt-hash');
    expect(secretShape({ name: 'media/sonarr-api-key', path: 'workloads.stacks[1].env.SONARR__AUTH__APIKEY' })).toBe('api-key');
    expect(secretShape({ name: 'monitoring/ntfy-topic-url', path: 'x.ntfy_topic_url' })).toBe('url');
    expect(secretShape({ name: 'tinker/code-server-password', path: 'workloads.stacks[0].env.PASSWORD' })).toBe('token');
  });

  it('a crypt hash chpasswd -e takes, a bcrypt hash, hex API keys, a URL; each made from a fresh password', () => {
    const crypt = generateSecretValue('crypt-hash', 'common/sam-password-hash');
    expect(crypt.value).toMatch(/^\$6\$[A-Za-z0-9./]+\$[A-Za-z0-9./]{86}$/);
    expect(verify(crypt.password!, crypt.value)).toBe(true);
    const bc = generateSecretValue('bcrypt-hash', 'edge/adguard-admin-password-hash');
    expect(bcrypt.compareSync(bc.password!, bc.value)).toBe(true);
    expect(generateSecretValue('api-key', 'media/x-api-key').value).toMatch(/^[0-9a-f]{32}$/);
    expect(new URL(generateSecretValue('url', 'monitoring/ntfy-topic-url').value).pathname).toMatch(/^\/lab-[0-9a-f]{24}$/);
    const a = generateSecretValue('token', 't').value;
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generateSecretValue('token', 't').value).not.toBe(a);
  });

  it('checks a prompted value against the shape', () => {
    expect(shapeProblem('crypt-hash', 'hunter2')).toMatch(/crypt\(3\) hash/);
    expect(shapeProblem('crypt-hash', generateSecretValue('crypt-hash', 'x').value)).toBeUndefined();
    expect(shapeProblem('bcrypt-hash', '$6$abc$def')).toMatch(/bcrypt/);
    expect(shapeProblem('url', 'not a url')).toBe('expected a URL');
    expect(shapeProblem('token', '')).toBe('empty');
  });
});
