import Docker from 'dockerode';
import { DockerPlanApplier } from '../support/docker-plan/docker-plan-applier';
(async () => {
  for (const id of process.argv.slice(2)) console.log(await new DockerPlanApplier({ planFile: '/nonexistent', stateId: id, docker: new Docker() }).destroy());
})();
