import { libraryConfig } from '@polythene/build-config';
import { defineConfig } from 'tsdown';

export default defineConfig(libraryConfig);
