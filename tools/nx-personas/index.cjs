// Nx plugin that infers one project per persona (personas/<name>/persona.yaml).
//
// Each persona project gets targets that call the lab CLI, and dependencies on the workspace
// projects that act on it: the CLI and intent always; L0–L2 when it declares a `vm`, L3 for
// `os`, L4 for `workloads`, capture for `capture`; the shared mixins project when it `include`s
// any. That is what makes `nx show projects --affected` list exactly the personas a change
// touches. CommonJS because Nx loads local plugins with require().
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, basename, join } = require('node:path');
const YAML = require('yaml');

const LAB = 'node packages/cli/bin/lab.mjs';

/** The CLI's layer verbs; each runs every layer lab has, in order, for this persona. */
const VERBS = ['plan', 'check', 'apply', 'destroy'];

/**
 * Whole-persona verbs: `up` (L0 → L4, each layer planned again before it applies), `down`
 * (L4 → L2, data kept) and `drift` (read-only, exit 2 on drift). They mutate or read the live
 * lab, so they are never cached; `-y` because Nx runs them without a terminal to ask on. Not
 * in parallel: every persona's `up` plans the shared L0/L1, and an embedded lab's simulator
 * state directory must have one writer at a time.
 */
const LIFECYCLE = { up: ' -y', down: ' -y', drift: '' };

const SECTION_PROJECTS = {
  vm: ['l0-host', 'l1-image', 'l2-vm'],
  os: ['l3-os'],
  workloads: ['l4-workload'],
  capture: ['capture'],
};

function readPersona(workspaceRoot, file) {
  try {
    const doc = YAML.parse(readFileSync(join(workspaceRoot, file), 'utf8'));
    return doc && typeof doc === 'object' ? doc : {};
  } catch {
    // An unparsable persona is still a project: `validate` is what reports the error.
    return {};
  }
}

function personaTargets(name) {
  const run = (verb, extra = '') => ({
    executor: 'nx:run-commands',
    options: { command: `${LAB} ${verb} --persona ${name}${extra}`, cwd: '{workspaceRoot}' },
  });
  const targets = {
    validate: { ...run('validate'), cache: true, inputs: ['persona', '^production'] },
  };
  for (const verb of VERBS) targets[verb] = { ...run(verb, verb === 'apply' || verb === 'destroy' ? ' -y' : ''), cache: false };
  for (const [verb, extra] of Object.entries(LIFECYCLE)) targets[verb] = { ...run(verb, extra), cache: false, parallelism: false };
  return targets;
}

const createNodesV2 = [
  'personas/*/persona.yaml',
  async (files, _options, context) =>
    files.map((file) => {
      const root = dirname(file);
      const name = basename(root);
      const persona = readPersona(context.workspaceRoot, file);
      const lifecycle = persona.lifecycle === 'experimental' ? 'experimental' : 'stable';
      return [
        file,
        {
          projects: {
            [root]: {
              name,
              root,
              projectType: 'application',
              tags: ['type:persona', `lifecycle:${lifecycle}`],
              targets: personaTargets(name),
              metadata: { description: persona.description || `persona ${name}` },
            },
          },
        },
      ];
    }),
];

function createDependencies(_options, context) {
  const deps = [];
  for (const [project, config] of Object.entries(context.projects)) {
    if (!config.tags || !config.tags.includes('type:persona')) continue;
    const sourceFile = join(config.root, 'persona.yaml');
    const persona = readPersona(context.workspaceRoot, sourceFile);
    const targets = new Set(['cli', 'intent']);
    for (const [section, projects] of Object.entries(SECTION_PROJECTS)) {
      if (persona[section] !== undefined) projects.forEach((p) => targets.add(p));
    }
    if (Array.isArray(persona.include) && persona.include.length > 0) targets.add('persona-mixins');
    for (const target of targets) {
      if (context.projects[target]) deps.push({ source: project, target, type: 'static', sourceFile });
    }
  }
  return deps;
}

module.exports = { name: '@lab/nx-personas', createNodesV2, createDependencies };
