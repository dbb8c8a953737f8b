// Where the programs under test are: PARLEY_BIN, or the test build's.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.PARLEY_BIN || path.join(REPO, 'build/test/bin');
