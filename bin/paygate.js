#!/usr/bin/env node
// The `paygate` command from a checkout: runs the TypeScript CLI through tsx's loader,
// so `npx paygate …` always runs the current source with no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
