// A vitest setup file: after each test file, remove the temporary paths its tests marked.
import { afterAll } from 'vitest';
import { removeTemporaryPaths } from './run-polythene.ts';

afterAll(removeTemporaryPaths);
