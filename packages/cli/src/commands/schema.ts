import { defineCommand } from 'citty';
import { ExitCode, LabError } from '@lab/core';
import { jsonSchemas } from '@lab/intent';
import { createContext, globalArgs } from '../context.js';

const KINDS = ['persona', 'site', 'mixin'] as const;

export const schemaCommand = defineCommand({
  meta: { name: 'schema', description: 'Print the JSON Schema of personas, lab.yaml or mixins (for editors and other tools)' },
  args: {
    ...globalArgs,
    kind: { type: 'string', description: `Which schema: ${KINDS.join(', ')}`, default: 'persona', valueHint: 'kind' },
  },
  async run({ args }) {
    const ctx = createContext(args);
    const kind = args.kind as (typeof KINDS)[number];
    if (!KINDS.includes(kind)) {
      throw new LabError({ code: 'LAB_CLI_USAGE', summary: `unknown schema kind '${args.kind}'`, hint: `use --kind ${KINDS.join('|')}` });
    }
    ctx.io.out(JSON.stringify(jsonSchemas()[kind], null, 2));
    return ExitCode.Ok;
  },
});
