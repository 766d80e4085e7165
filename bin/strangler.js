#!/usr/bin/env node
// The `strangler` command. The sources are TypeScript run through tsx, so a checkout works
// without a build step (`npx strangler --help`).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
