export { startDemoServer, DemoServerHandle, DemoServerOptions } from './server';
