// `node --import ./labextension/test/register.mjs --test labextension/test/`: installs resolve.mjs.
import { register } from 'node:module';

register('./resolve.mjs', import.meta.url);
